"""Cheaper translations and links in templates: what every page pays per `_()` and `url_for`.

A storefront page calls `_()` some forty times and `url_for` a dozen. Flask-Babel's
Jinja callables look the request's translations up again on every call (three
context lookups, the locale turned into a string, a dict probe), and url_for builds
each link through the URL map; together that was a fifth of an uncached catalog
page. Here:

* `_()` / `ngettext()` in templates take the translations the request already chose,
  kept beside Flask-Babel's own per-request locale, so `flask_babel.refresh()` (a
  visitor switching language) is still honoured;
* `url_for()` in templates reuses a link built before for the same endpoint,
  arguments and URL prefix (script_root: a proxy's X-Forwarded-Prefix). Only
  relative links are kept; `_external`, `_anchor` and the like, and arguments that
  are not hashable, are built every time. Links depend on nothing else here: the
  app has no url_defaults and no host or subdomain rules.
"""
from flask import g, has_request_context, request, url_for
from flask_babel import get_translations

MAX_LINKS = 20_000  #: links kept per process; the whole memo is dropped when it is full


def _translations():
    """The request's translations, looked up once per locale the request uses."""
    ctx = g.get("_flask_babel") if g else None
    if ctx is not None:
        kept, locale = getattr(ctx, "fast_translations", None), getattr(ctx, "babel_locale", None)
        if kept is not None and locale is not None and kept[0] is locale:
            return kept[1]
    translations = get_translations()  # (makes the context and sets its babel_locale)
    ctx = g.get("_flask_babel") if g else None
    if ctx is not None:
        ctx.fast_translations = (getattr(ctx, "babel_locale", None), translations)
    return translations


def _make_url_for(app):
    links = {}

    def template_url_for(endpoint, **values):
        if (any(name.startswith("_") for name in values) or not has_request_context()
                or any(app.url_default_functions.values())):
            return url_for(endpoint, **values)
        try:
            key = (endpoint, request.script_root, request.blueprint if endpoint[:1] == "." else None,
                   frozenset(values.items()))
            return links[key]
        except TypeError:  # a list or dict argument
            return url_for(endpoint, **values)
        except KeyError:
            pass
        link = url_for(endpoint, **values)
        if len(links) >= MAX_LINKS:
            links.clear()
        links[key] = link
        return link

    return template_url_for


def init_app(app):
    """Call after Flask-Babel's init_app (it installs the callables replaced here)."""
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: _translations().ugettext(s),
        ngettext=lambda s, p, n: _translations().ungettext(s, p, n),
        pgettext=lambda c, s: _translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: _translations().unpgettext(c, s, p, n),
        newstyle=True)
    app.jinja_env.globals["url_for"] = _make_url_for(app)
