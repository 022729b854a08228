"""The jobs that failed after their last retry (rq's FailedJobRegistry of each queue),
and what an admin can do with one: run it once more, or delete it."""
from dataclasses import dataclass
from datetime import datetime

from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import JOB_ID_PATTERN, Job

from .queue import QUEUES, connection, rq_queue

PAGE = 100  #: newest failed jobs shown per queue


@dataclass
class FailedJob:
    id: str
    queue: str
    func_name: str
    args: tuple
    failed_at: datetime | None
    error: str  #: the exception's last line
    traceback: str


@dataclass
class QueueState:
    name: str
    waiting: int
    running: int
    scheduled: int  #: waiting for a retry (or enqueue_in)
    failed: int


def queue_states() -> list[QueueState]:
    states = []
    for name in QUEUES:
        queue = rq_queue(name)
        states.append(QueueState(name, queue.count, queue.started_job_registry.count,
                                 queue.scheduled_job_registry.count, queue.failed_job_registry.count))
    return states


def failed_jobs() -> list[FailedJob]:
    found = []
    for name in QUEUES:
        ids = rq_queue(name).failed_job_registry.get_job_ids(0, PAGE - 1, desc=True)
        found += [_describe(job, name) for job in Job.fetch_many(ids, connection=connection()) if job]
    return sorted(found, key=lambda j: j.failed_at or datetime.min, reverse=True)


def _describe(job: Job, queue: str) -> FailedJob:
    result = job.latest_result()
    text = (result.exc_string if result else "") or ""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return FailedJob(job.id, queue, job.func_name or "?", tuple(job.args or ()), job.ended_at,
                     lines[-1] if lines else "", text)


def is_job_id(value: str) -> bool:
    return bool(value) and len(value) <= 100 and JOB_ID_PATTERN.fullmatch(value) is not None


def retry(queue: str, job_id: str) -> bool:
    """Put a failed job back on its queue (one more attempt). False if it is not
    (or no longer) among the failed jobs."""
    try:
        rq_queue(queue).failed_job_registry.requeue(job_id)
    except (InvalidJobOperation, NoSuchJobError):
        return False
    return True


def delete(queue: str, job_id: str) -> bool:
    registry = rq_queue(queue).failed_job_registry
    if registry.connection.zscore(registry.key, job_id) is None:
        return False
    registry.remove(job_id, delete_job=True)
    return True
