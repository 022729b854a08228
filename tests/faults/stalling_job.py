"""A test-only job: the real reservation expiry, then a stall in which the test kills
the worker. Imported by `flask worker` (run from the repository root) by its name."""
import os
import time
from pathlib import Path

from marketplace.extensions import db
from marketplace.jobs.task import task
from marketplace.orders import checkout

STALL_SECONDS = 300  #: the longest the job waits for the test's "go"


@task
def expire_reservations_and_stall(gate: str, commit_first: bool) -> dict:
    """Expire overdue checkouts (what jobs.tasks.expire_reservations does), then stall
    until the file gate/go exists: with `commit_first` after the work is committed (the
    worst moment to die: done, but rq still thinks the job runs), else inside the open
    transaction. The work horse's pid is in the name of the file gate/stalled-<pid>."""
    expired = checkout.expire_reservations()
    if commit_first:
        db.session.commit()
    folder = Path(gate)
    (folder / f"stalled-{os.getpid()}").touch()
    deadline = time.monotonic() + STALL_SECONDS
    while not (folder / "go").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    return {"expired": expired}
