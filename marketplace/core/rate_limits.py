"""Rate limits are checked by the views they guard, not before every request.

Every limit here decorates the view it guards (log in, sign up, chat, checkout:
`@limiter.limit(...)`), and Flask-Limiter's decorator checks it when that view runs.
The before-request hook Flask-Limiter adds as well runs for every request and adds the
limits that belong to no view: default, application-wide, meta and blueprint limits.
We set none, so for every request the hook found nothing to check, at ~0.07 ms of
CPU: 8% of what a catalog page costs in-process (bench/storefront_profile.py). It is
taken out while there are no such limits; configuring one (RATELIMIT_DEFAULT,
RATELIMIT_APPLICATION, RATELIMIT_META) keeps it.
"""


def limits_beyond_views(limiter) -> bool:
    """Whether `limiter` holds any limit that only its before-request hook checks."""
    manager = limiter.limit_manager
    return bool(manager._default_limits or manager._application_limits or manager._blueprint_limits
                or limiter._meta_limits)


def check_in_views_only(app, limiter) -> bool:
    """Call after limiter.init_app(app): drop the before-request check when it has
    nothing to check (the above). True when it was dropped."""
    hooks = app.before_request_funcs.get(None, [])
    if limits_beyond_views(limiter) or limiter._check_request_limit not in hooks:
        return False
    hooks.remove(limiter._check_request_limit)
    return True
