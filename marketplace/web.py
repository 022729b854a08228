"""Request-wide plumbing: locale, login loading, errors, security headers, media, health."""
import logging

from flask import (abort, current_app, g, has_request_context, jsonify, render_template, request, send_file,
                   session)
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from redis.exceptions import RedisError
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter

from .core.errors import DomainError
from .core.money import format_fen
from .core.regions import province_label
from .core import compression, storage
from .core.storage import image_urls
from . import observability
from .extensions import db, login_manager
from .observability import health

log = logging.getLogger("marketplace")


def select_locale():
    if not has_request_context():
        return current_app.config["BABEL_DEFAULT_LOCALE"]  # CLI and jobs
    chosen = session.get("lang")
    if chosen in current_app.config["LANGUAGES"]:
        return chosen
    if current_user and current_user.is_authenticated and current_user.locale in current_app.config["LANGUAGES"]:
        return current_user.locale
    best = request.accept_languages.best_match(["zh_CN", "zh", "en"])
    return "zh_CN" if best in ("zh", "zh_CN") else "en"


@login_manager.user_loader
def _load_user(user_key):
    from .auth.services import user_for_session

    user_id, _, token = (user_key or "").partition(":")
    if not user_id.isdigit() or not token:
        return None
    return user_for_session(int(user_id), token)


def wants_json() -> bool:
    return request.path.startswith("/api/")


def _json_error(status, code, message):
    return jsonify({"error": {"code": code, "message": str(message)}}), status


class DatabaseIdConverter(IntegerConverter):
    """`<int:id>` in URLs stops at the largest database integer, so a huge id is a
    plain 404 instead of an overflow error from PostgreSQL."""

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(url_map, *args, **kwargs)


def init_app(app):
    app.url_map.converters["int"] = DatabaseIdConverter
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please log in to continue.")
    login_manager.session_protection = "strong"
    storage.init_app(app)  # local folder, or the S3 bucket when S3_BUCKET is set
    _register_errors(app)
    _register_template_helpers(app)
    _register_routes(app)
    app.after_request(_security_headers)
    compression.init_app(app)  # before the page cache (create_app): it keeps the compressed copy
    observability.init_app(app)  # proxy, request ids, logs, /metrics


def _register_errors(app):
    @app.errorhandler(DomainError)
    def domain_error(err):
        if wants_json():
            return jsonify(err.to_dict()), err.status
        return render_template("error.html", status=err.status, message=err.message), err.status

    @app.errorhandler(CSRFError)
    def csrf_error(err):
        if wants_json():
            return _json_error(400, "csrf_failed", err.description)
        message = _l("The form expired or was sent from another site. Please try again.")
        return render_template("error.html", status=400, message=message), 400

    @app.errorhandler(HTTPException)
    def http_error(err):
        messages = {404: _l("We could not find that page."), 403: _l("You cannot open this page."),
                    413: _l("The upload is too large."),
                    429: _l("Too many attempts. Please wait a minute and try again."),
                    405: _l("That action is not allowed here.")}
        message = messages.get(err.code, err.description)
        # a 405 must say what is allowed (RFC 9110 15.5.6); our own body drops werkzeug's headers
        headers = {"Allow": ", ".join(err.valid_methods)} if getattr(err, "valid_methods", None) else {}
        if wants_json():
            body, status = _http_error_json(err, message)
            return body, status, headers
        return render_template("error.html", status=err.code, message=message), err.code, headers

    @app.errorhandler(OperationalError)
    def database_unavailable(err):
        # the database went away (restart, failover, a dropped connection): this request's
        # transaction is lost, the pool drops the dead connection (core/pool_ping checks the
        # others) and the next request reconnects. Say so; it is not a bug in the request.
        log.warning("database unavailable on %s %s: %s", request.method, request.path, err.orig or err)
        try:
            db.session.rollback()
        except SQLAlchemyError:
            pass  # the connection is already gone; the session is discarded at teardown anyway
        g._login_user = login_manager.anonymous_user()  # the page must not load the user again
        return _unavailable(_l("We cannot reach our database right now. Please try again in a minute."))

    @app.errorhandler(RedisError)
    def queue_unavailable(err):
        # Redis is down: pages, rate limits and live rooms carry on without it, but an
        # action that must queue a job (a monitoring scan, a ledger check) cannot
        log.warning("Redis unavailable on %s %s: %s", request.method, request.path, err)
        db.session.rollback()
        return _unavailable(_l("This action needs a service that is down right now. Nothing was changed. "
                               "Please try again in a minute."))

    @app.errorhandler(Exception)
    def unexpected(err):
        log.exception("unhandled error on %s %s", request.method, request.path)
        db.session.rollback()
        if wants_json():
            return _json_error(500, "server_error", "Something went wrong on our side.")
        return render_template("error.html", status=500,
                               message=_l("Something went wrong on our side. Nothing was changed.")), 500


def _unavailable(message):
    """503 with Retry-After: a part of the system is down, the request may simply be repeated."""
    headers = {"Retry-After": "30"}
    if wants_json():
        body, status = _json_error(503, "unavailable", message)
        return body, status, headers
    return render_template("error.html", status=503, message=message), 503, headers


def _http_error_json(err, message):
    code = {429: "rate_limited", 413: "too_large", 422: "invalid"}.get(err.code, err.name.lower().replace(" ", "_"))
    body = {"code": code, "message": str(message)}
    # webargs puts validation messages under data["messages"][location][field]
    locations = (getattr(err, "data", None) or {}).get("messages") or {}
    field_messages = {name: [str(m) for m in (msgs if isinstance(msgs, list) else [msgs])]
                      for per_location in locations.values() if isinstance(per_location, dict)
                      for name, msgs in per_location.items()}
    if field_messages:
        body["fields"] = field_messages
        name, msgs = next(iter(field_messages.items()))
        body["message"] = f"{name}: {msgs[0]}"
    return jsonify({"error": body}), err.code


def _register_template_helpers(app):
    app.jinja_env.add_extension("jinja2.ext.do")
    app.jinja_env.filters["money"] = format_fen
    app.jinja_env.filters["province"] = province_label
    app.jinja_env.globals["image_urls"] = image_urls

    @app.context_processor
    def _globals():
        # the LANGUAGES key ("zh_CN"), not Babel's expanded name ("zh_Hans_CN")
        return {"current_locale": select_locale(), "languages": app.config["LANGUAGES"],
                "demo_mode": app.config.get("DEMO")}


def _register_routes(app):
    @app.get("/media/<name>")
    def media(name):
        path = app.extensions["storage"].path(name)
        if path is None:
            abort(404)
        return send_file(path, mimetype="image/webp", max_age=31536000)

    @app.get("/healthz")
    def healthz():
        return {"status": "ok"}

    @app.get("/readyz")
    def readyz():
        return health.readiness()  # the database, and Redis when REDIS_URL is set


CSP = ("default-src 'self'; img-src 'self' data: blob:; script-src 'self'; style-src 'self'; "
       "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
#: only on the Stripe pay page (a view sets g.csp_stripe): Stripe.js, its card iframes, its API
CSP_STRIPE = ("default-src 'self'; img-src 'self' data: blob:; script-src 'self' https://js.stripe.com; "
              "style-src 'self'; frame-src https://js.stripe.com https://hooks.stripe.com; "
              "connect-src 'self' https://api.stripe.com; "
              "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
#: only on live-show pages (a view sets g.csp_live): HLS playlists and segments from any https
#: host (hls.js fetches them; MediaSource plays them from blob:), and embedded players
CSP_LIVE = CSP + "; media-src 'self' blob: https:; frame-src https:; connect-src 'self' https:"


def _security_headers(response):
    response.headers.setdefault("Content-Security-Policy", CSP_STRIPE if g.get("csp_stripe")
                                else CSP_LIVE if g.get("csp_live") else CSP)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
    response.headers["X-Frame-Options"] = "DENY"
    if current_app.config.get("HSTS"):
        response.headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
    if getattr(g, "vary_cookie", True):
        response.vary.add("Cookie")
    return response
