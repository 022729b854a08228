"""A request id for every request, and (with JSON logs) one access line per request.

The id comes from the proxy's X-Request-ID when it is a sane token (nginx: `$request_id`),
so the proxy's log and ours can be joined; otherwise a new one is made. Either way the
response echoes it, and every log line written during the request carries it.
"""
import logging
import re
import time
import uuid

from flask import g, request

from .logs import request_user_id

HEADER = "X-Request-ID"
#: letters, digits and a few separators, at most 128: nothing that could forge a log line
VALID_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@+=/-]{0,127}")
#: probes hit these every few seconds; their lines would drown the rest
QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})

access_log = logging.getLogger("marketplace.access")


def request_id_from(value: str | None) -> str:
    if value and VALID_ID.fullmatch(value):
        return value
    return uuid.uuid4().hex


def init_app(app):
    # first of all before-request hooks: one that answers early (rate limit, page cache)
    # skips the rest, and its request must have an id and a start time too
    app.before_request_funcs.setdefault(None, []).insert(0, _begin)
    app.after_request(_echo_id)
    if app.config["LOG_FORMAT"] == "json":  # the development server prints its own request lines
        app.after_request(_log_access)


def _begin():
    g.request_id = request_id_from(request.headers.get(HEADER))
    g.request_started = time.perf_counter()


def current_request_id() -> str:
    if not g.get("request_id"):
        g.request_id = request_id_from(request.headers.get(HEADER))
    return g.request_id


def elapsed_seconds() -> float | None:
    started = g.get("request_started")
    return None if started is None else time.perf_counter() - started


def _echo_id(response):
    response.headers[HEADER] = current_request_id()
    return response


def _log_access(response):
    if request.path in QUIET_PATHS and response.status_code < 400:
        return response
    seconds = elapsed_seconds() or 0.0
    level = logging.WARNING if response.status_code >= 500 else logging.INFO
    access_log.log(level, "%s %s %s %.1fms", request.method, request.path, response.status_code, seconds * 1000,
                   extra={"method": request.method, "path": request.path, "status": response.status_code,
                          "duration_ms": round(seconds * 1000, 1), "user_id": request_user_id(),
                          "remote_addr": request.remote_addr})
    return response
