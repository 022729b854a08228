"""The monitoring scan as a background job (see marketplace/jobs).

`scan_job()` is what a worker runs (one scan at a time across workers; the scan never
opens a second case for a household, so a rerun is harmless). `enqueue_scan()` is what
the API, the staff page and the CLI call: with REDIS_URL set it puts the job on the
"default" queue; without Redis it runs the scan inline and returns its result.
"""
from datetime import date

from ..jobs.queue import enqueue
from ..jobs.task import task

QUEUE = "default"
JOB_TIMEOUT = 30 * 60  #: seconds; a scan of 20,000 households takes well under a minute


@task(exclusive_for=JOB_TIMEOUT)
def scan_job(today: str | None = None) -> dict:
    """Run the monitoring rules over every household; open a case for each new hit.
    `today` (YYYY-MM-DD) is for replays and tests; default: today in Asia/Shanghai."""
    from .scan import run_scan

    return run_scan(date.fromisoformat(today) if today else None)


def enqueue_scan(today: str | None = None) -> dict:
    """{"queued": True, "job_id"} with Redis; {"queued": False, "households", "opened",
    "already_open"} when the scan ran inline."""
    outcome = enqueue(scan_job, today, queue=QUEUE, timeout=JOB_TIMEOUT)
    if outcome["queued"]:
        return {"queued": True, "job_id": outcome["job_id"]}
    return {"queued": False, **outcome["result"]}
