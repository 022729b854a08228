"""Log lines for people (demo, development) or one JSON object a line (production).

Every line written during a request carries its request id and, once known, the
user id (`RequestFilter`), whichever logger wrote it. The handler sits on the root
logger, so the app's, the libraries' and the jobs' messages come out alike; it
writes to stderr, where gunicorn, systemd and container runtimes collect it.
"""
import logging
import sys

from flask import g, has_request_context
from pythonjsonlogger.json import JsonFormatter
from sqlalchemy import inspect as sa_inspect

FORMATS = ("json", "text")
TEXT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
JSON_FIELDS = ["levelname", "name", "message", "request_id", "user_id", "process"]


def request_user_id():
    """The signed-in user's id when this request already loaded it (never a query here)."""
    for name in ("api_user", "_login_user"):
        user = g.get(name)
        if user is None:
            continue
        # A stored account (flask-login's anonymous user is not one): its id from the identity
        # key, because the request's commit expired its attributes, and reading `user.id` or
        # `is_authenticated` (-> `active`) would reload the row and its membership.
        state = sa_inspect(user, raiseerr=False)
        if state is not None and state.identity:
            return state.identity[0]
        if getattr(user, "is_authenticated", False):
            return user.id
    return g.get("api_user_id")  # (a checkout that read its buyer's id inside its statement)


class RequestFilter(logging.Filter):
    """Adds request_id and user_id to every record (None outside a request)."""

    def filter(self, record):
        in_request = has_request_context()
        if not hasattr(record, "request_id"):
            record.request_id = g.get("request_id") if in_request else None
        if not hasattr(record, "user_id"):
            record.user_id = request_user_id() if in_request else None
        return True


class StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time (a test capturing it sees the lines)."""

    def __init__(self):
        super().__init__(sys.stderr)

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value):
        pass


class TextFormatter(logging.Formatter):
    def __init__(self):
        super().__init__(TEXT)

    def formatMessage(self, record):
        return self._style.format(_Dashes(record))


class _Dashes:
    """A record's attributes, with "-" for a missing request id (outside requests)."""

    def __init__(self, record):
        self.__dict__.update(record.__dict__)
        if self.__dict__.get("request_id") is None:
            self.request_id = "-"


def make_formatter(log_format: str) -> logging.Formatter:
    if log_format == "json":
        return JsonFormatter(JSON_FIELDS, rename_fields={"levelname": "level", "name": "logger"},
                             timestamp="time", json_ensure_ascii=False)
    return TextFormatter()


def installed_handler():
    return next((h for h in logging.getLogger().handlers if isinstance(h, StderrHandler)), None)


def configure(app):
    log_format, level = app.config["LOG_FORMAT"], str(app.config["LOG_LEVEL"]).upper()
    if log_format not in FORMATS:
        raise RuntimeError(f"LOG_FORMAT must be one of {', '.join(FORMATS)}, not {log_format!r}")
    if level not in logging.getLevelNamesMapping():
        raise RuntimeError(f"LOG_LEVEL must be a level name such as INFO or DEBUG, not {level!r}")
    logging.getLogger("marketplace").setLevel(level)
    if app.testing and log_format == "text":
        return  # pytest collects the records itself
    handler = installed_handler() or _install()
    handler.setFormatter(make_formatter(log_format))


def _install():
    from flask.logging import default_handler

    handler = StderrHandler()
    handler.addFilter(RequestFilter())
    logging.getLogger().addHandler(handler)
    # Flask's own handler on the app logger would print every app message a second time
    logging.getLogger("marketplace").removeHandler(default_handler)
    return handler


def uninstall():
    """Take the handler off again (tests that switched JSON logs on)."""
    handler = installed_handler()
    if handler is not None:
        logging.getLogger().removeHandler(handler)
