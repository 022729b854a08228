"""Putting work on the RQ queues, or running it here when there is no Redis.

With REDIS_URL set, `enqueue(task, *args)` puts the call on a named queue for
`flask worker` and returns at once. Every queued job has the same retry policy: a
failing job runs again after RETRY_INTERVALS seconds, then lands in rq's
FailedJobRegistry, which admins see at /admin/jobs.

Without REDIS_URL the task runs inline, in the caller's process: its result comes back
to the caller, and so does its exception (logged here first).
"""
import logging
from contextlib import contextmanager

from flask import current_app
from redis import Redis
from redis.exceptions import LockError
from rq import Queue, Retry
from rq.exceptions import DuplicateJobError

#: the app's queues, in the order a worker takes jobs from them
QUEUES = ("default", "mail")
RETRY_INTERVALS = (10, 60, 300)  #: seconds before the 1st, 2nd and 3rd retry
DEFAULT_TIMEOUT = 5 * 60  #: seconds a job may run before rq stops it
FAILURE_TTL = 30 * 24 * 3600  #: failed jobs stay visible to admins this long

log = logging.getLogger("marketplace.jobs")


def redis_configured() -> bool:
    return bool(current_app.config.get("REDIS_URL"))


def connection() -> Redis:
    """The app's Redis client for putting and inspecting jobs, made on first use
    (redis-py's pool reconnects by itself in a forked process). Short timeouts: a
    request must not hang on a Redis outage. (The worker blocks on the queues with
    its own connection.)"""
    client = current_app.extensions.get("jobs_redis")
    if client is None:
        client = current_app.extensions["jobs_redis"] = Redis.from_url(
            current_app.config["REDIS_URL"], socket_connect_timeout=3, socket_timeout=10)
    return client


def rq_queue(name: str) -> Queue:
    return Queue(name, connection=connection())


def retry_policy() -> Retry:
    return Retry(max=len(RETRY_INTERVALS), interval=list(RETRY_INTERVALS))


def enqueue(task, *args, queue: str = "default", timeout: int = DEFAULT_TIMEOUT, job_id: str | None = None) -> dict:
    """{"queued": True, "job_id"} with Redis; {"queued": False, "result"} when the task
    ran inline. With a `job_id`, a second enqueue of that id is refused by rq
    ({"queued": False, "duplicate": True}): how periodic jobs run once per period."""
    if not redis_configured():
        return {"queued": False, "result": run_inline(task, *args)}
    options = {"job_timeout": timeout, "retry": retry_policy(), "failure_ttl": FAILURE_TTL}
    if job_id:
        options.update(job_id=job_id, unique=True)
    try:
        job = rq_queue(queue).enqueue(task, *args, **options)
    except DuplicateJobError:
        return {"queued": False, "duplicate": True, "job_id": job_id}
    return {"queued": True, "job_id": job.id}


def run_inline(task, *args):
    try:
        return task(*args)
    except Exception:
        log.exception("job %s failed (run inline: REDIS_URL is not set)", getattr(task, "__name__", task))
        raise


def queue_depths() -> dict:
    """Jobs waiting on each queue ({} without Redis): for /metrics and the admin page."""
    if not redis_configured():
        return {}
    return {name: rq_queue(name).count for name in QUEUES}


@contextmanager
def single_flight(name: str, seconds: int):
    """Yields True to the one caller holding the lock `name`, False to any other while it
    runs (another worker, or a cron run overlapping the scheduler's). The lock expires
    after `seconds` even if its holder died. Without Redis there is nothing to share
    it with: always True."""
    if not redis_configured():
        yield True
        return
    lock = connection().lock(f"marketplace:jobs:running:{name}", timeout=seconds, blocking=False)
    if not lock.acquire():
        yield False
        return
    try:
        yield True
    finally:
        try:
            lock.release()
        except LockError:  # it expired while the job ran; someone else may hold it now
            log.warning("job lock %s expired before the job finished", name)
