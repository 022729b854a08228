"""The monitoring scan and the full verification of the ledger's chain as background
jobs (see marketplace/jobs).

`scan_job()` is what a worker runs (one scan at a time across workers; the scan never
opens a second case for a household, so a rerun is harmless). `enqueue_scan()` is what
the API, the staff page and the CLI call: with REDIS_URL set it puts the job on the
"default" queue; without Redis it runs the scan inline and returns its result.
`verify_ledger_job()` / `enqueue_verify()` do the same for the chain's verification,
whose recorded result the reconciliation builds on (monitoring/chain.py).
"""
from datetime import date

from ..jobs.queue import enqueue
from ..jobs.task import task

QUEUE = "default"
JOB_TIMEOUT = 30 * 60  #: seconds; a scan of 20,000 households takes well under a minute
VERIFY_TIMEOUT = 60 * 60  #: seconds; the whole chain, millions of entries


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


@task(exclusive_for=VERIFY_TIMEOUT)
def verify_ledger_job(actor_id: int | None = None) -> dict:
    """Verify the ledger's whole hash chain and record the result in the audit log."""
    from ..auth.models import User
    from ..extensions import db
    from .chain import record_full_verification

    return record_full_verification(db.session.get(User, actor_id) if actor_id else None)


def enqueue_verify(actor_id: int | None = None) -> dict:
    """{"queued": True, "job_id"} with Redis; {"queued": False, "ok", "entries", ...} when
    the verification ran inline."""
    outcome = enqueue(verify_ledger_job, actor_id, queue=QUEUE, timeout=VERIFY_TIMEOUT)
    if outcome["queued"]:
        return {"queued": True, "job_id": outcome["job_id"]}
    return {"queued": False, **outcome["result"]}
