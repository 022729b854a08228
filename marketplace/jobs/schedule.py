"""The periodic jobs, run by rq's own CronScheduler (rq >= 2.5, `rq.cron`) inside
`flask worker`; without Redis, cron runs the equivalent `flask` commands:

    * * * * *   flask orders expire-reservations
    * * * * *   flask live send-reminders
    * * * * *   flask live end-overdue
    0 * * * *   flask orders auto-deliver
    30 2 * * *  flask monitoring scan

rq's CronScheduler enqueues a job with no retry policy, and every worker started with
the schedule runs its own scheduler. So what it enqueues is `enqueue_periodic(name)`,
which puts the real task on its queue with the retry policy under a job id fixed for
the period: a second scheduler in the same period finds the id taken and adds nothing.
"""
import time
from dataclasses import dataclass
from typing import Callable

from rq.cron import CronScheduler

from ..livestream.jobs import end_overdue_shows
from ..monitoring.jobs import JOB_TIMEOUT as SCAN_TIMEOUT, VERIFY_TIMEOUT, scan_job, verify_ledger_job
from . import tasks
from .queue import DEFAULT_TIMEOUT, enqueue
from .task import task


@dataclass(frozen=True)
class Periodic:
    name: str  #: also the job id prefix: letters, digits, "_" only
    task: Callable
    queue: str = "default"
    interval: int | None = None  #: seconds between runs
    cron: str | None = None  #: a crontab time, in the worker host's local time zone
    timeout: int = DEFAULT_TIMEOUT

    @property
    def period(self) -> int:
        """Seconds within which a second enqueue is a duplicate."""
        return self.interval or 3600


SCHEDULE = (
    Periodic("expire_reservations", tasks.expire_reservations, interval=60),
    Periodic("send_reminders", tasks.send_reminders, queue="mail", interval=60),
    Periodic("end_overdue_shows", end_overdue_shows, interval=60),  # live shows past ends_at end
    Periodic("auto_deliver", tasks.auto_deliver, interval=3600),
    Periodic("monitoring_scan", scan_job, cron="30 2 * * *", timeout=SCAN_TIMEOUT),
    # nightly full check of the hash chain: reconciliation re-hashes only what came after it
    Periodic("ledger_verify", verify_ledger_job, cron="0 2 * * *", timeout=VERIFY_TIMEOUT),
)
BY_NAME = {p.name: p for p in SCHEDULE}


@task
def enqueue_periodic(name: str) -> dict:
    """What the CronScheduler enqueues: the named task, once per period, with retries."""
    periodic = BY_NAME[name]
    slot = int(time.time()) // periodic.period
    return enqueue(periodic.task, queue=periodic.queue, timeout=periodic.timeout, job_id=f"{name}-{slot}")


def cron_scheduler(connection) -> CronScheduler:
    scheduler = CronScheduler(connection=connection)
    for periodic in SCHEDULE:
        scheduler.register(enqueue_periodic, periodic.queue, args=(periodic.name,), interval=periodic.interval,
                           cron=periodic.cron, job_timeout=60, name=periodic.name)
    return scheduler
