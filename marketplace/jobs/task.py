"""`@task`: what makes a function a job.

A job runs wherever it is called from: inside a request or a `flask` command (the app
context is there), in `flask worker` (its worker pushes one per job), or in a plain
`rq worker`, where this module makes the app once per process from the environment.
It commits when the function returns and rolls back when it raises, so a retried job
starts from what was committed. `exclusive_for=N` lets one run at a time across all
workers (a Redis lock held up to N seconds); an overlapping run returns SKIPPED.
"""
import functools

from flask import has_app_context

from ..extensions import db
from .queue import single_flight

SKIPPED = {"skipped": "already running"}
_process_app = None


def task(func=None, *, exclusive_for: int | None = None):
    if func is None:
        return functools.partial(task, exclusive_for=exclusive_for)

    @functools.wraps(func)
    def run(*args):
        if has_app_context():
            return _run(func, args, exclusive_for)
        with _app().app_context():
            try:
                return _run(func, args, exclusive_for)
            finally:
                db.session.remove()

    return run


def _app():
    global _process_app
    if _process_app is None:
        from .. import create_app

        _process_app = create_app()
    return _process_app


def _run(func, args, exclusive_for):
    if exclusive_for is None:
        return _in_transaction(func, args)
    with single_flight(f"{func.__module__}.{func.__name__}", exclusive_for) as mine:
        return _in_transaction(func, args) if mine else dict(SKIPPED)


def _in_transaction(func, args):
    try:
        result = func(*args)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return result
