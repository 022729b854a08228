"""`flask worker`'s machinery: rq's forking Worker with the app context around every
job, rq's scheduler (retries with backoff, enqueue_in) and, in a child process, rq's
CronScheduler for the periodic jobs."""
import multiprocessing
import os

from redis import Redis
from rq import Queue, Worker

from ..extensions import db
from .queue import QUEUES
from .schedule import cron_scheduler


class AppWorker(Worker):
    """Each job runs in a forked work horse, inside a fresh app context; the database
    connections the parent process may hold are never used by the child."""

    def __init__(self, *args, app, **kwargs):
        super().__init__(*args, **kwargs)
        self.app = app
        self.main_pid = os.getpid()

    def perform_job(self, job, queue, *args, **kwargs):
        with self.app.app_context():
            if os.getpid() != self.main_pid:
                db.engine.dispose(close=False)  # the pool belongs to the parent: start an empty one
            try:
                return super().perform_job(job, queue, *args, **kwargs)
            finally:
                db.session.remove()


def run(app, queue_names=None, with_cron=True, burst=False) -> bool:
    """Work until stopped (or, with `burst`, until the queues are empty). Returns
    whether any job ran."""
    url = app.config["REDIS_URL"]
    connection = Redis.from_url(url)
    queues = [Queue(name, connection=connection) for name in (queue_names or QUEUES)]
    cron = _start_cron(url) if with_cron and not burst else None
    try:
        worker = AppWorker(queues, connection=connection, app=app)
        return worker.work(with_scheduler=True, burst=burst)
    finally:
        if cron is not None:
            cron.terminate()  # SIGTERM: the scheduler unregisters itself
            cron.join(timeout=10)


def _start_cron(url: str):
    process = multiprocessing.get_context("fork").Process(target=_run_cron, args=(url,), name="rq-cron",
                                                          daemon=True)
    process.start()
    return process


def _run_cron(url: str) -> None:
    cron_scheduler(Redis.from_url(url)).start()
