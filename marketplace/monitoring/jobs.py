"""The monitoring scan as a background job.

`scan_job()` is what an RQ worker runs: it makes its own app (and app context) when
called outside one. `enqueue_scan()` is what the API, the staff page and the CLI
call: with REDIS_URL set it puts the job on the "default" queue; without Redis it
runs the scan inline and returns its result.
"""
from datetime import date

from flask import current_app, has_app_context

from ..extensions import db

QUEUE = "default"
JOB_TIMEOUT = 30 * 60  #: seconds; a scan of 20,000 households takes well under a minute


def _run(today: str | None) -> dict:
    from .scan import run_scan

    try:
        result = run_scan(date.fromisoformat(today) if today else None)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return result


def scan_job(today: str | None = None) -> dict:
    """Run the monitoring rules over every household; open a case for each new hit.
    `today` (YYYY-MM-DD) is for replays and tests; default: today in Asia/Shanghai."""
    if has_app_context():
        return _run(today)
    from .. import create_app

    app = create_app()
    with app.app_context():
        try:
            return _run(today)
        finally:
            db.session.remove()


def enqueue_scan(today: str | None = None) -> dict:
    """{"queued": True, "job_id"} with Redis; {"queued": False, "households", "opened",
    "already_open"} when the scan ran inline."""
    url = current_app.config.get("REDIS_URL")
    if not url:
        return {"queued": False, **scan_job(today)}
    from redis import Redis
    from rq import Queue

    queue = Queue(QUEUE, connection=Redis.from_url(url))
    job = queue.enqueue(scan_job, today, job_timeout=JOB_TIMEOUT)
    return {"queued": True, "job_id": job.id}
