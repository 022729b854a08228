"""Jobs on real RQ queues (TEST_REDIS_URL): queued by the app, run by the worker that
`flask worker` starts, retried with backoff, listed for admins when they finally fail,
retried from the admin page; periodic jobs once per period; one run at a time."""
import re
import time
from types import SimpleNamespace

from rq import Queue
from rq.job import Job
from sqlalchemy import func, select

from marketplace.auth.models import Role, User
from marketplace.core.audit import AuditRecord
from marketplace.extensions import db
from marketplace.jobs import queue as job_queue, schedule, tasks
from marketplace.jobs.queue import RETRY_INTERVALS, connection, enqueue
from marketplace.jobs.task import SKIPPED
from marketplace.livestream.models import Reminder
from marketplace.orders.models import CheckoutStatus
from tests.conftest import PASSWORD
from tests.orders.helpers import stock


def reminded() -> set:
    """The e-mail addresses whose reminder is marked sent."""
    db.session.expire_all()
    return set(db.session.scalars(select(User.email).join(Reminder, Reminder.user_id == User.id)
                                  .where(Reminder.sent_at.is_not(None))))


def fail_mail_to(monkeypatch, email):
    real = tasks.send_mail

    def send(to, subject, body):
        if to == email:
            raise ConnectionRefusedError("smtp down")
        real(to, subject, body)

    monkeypatch.setattr(tasks, "send_mail", send)  # the forked work horse inherits it
    return real


def admin_client(app, make):
    admin = make.user(role=Role.admin)
    client = app.test_client()
    assert client.post("/login", data={"email": admin.email, "password": PASSWORD}).status_code == 302
    return client


def csrf_token(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_a_queued_job_waits_for_the_worker_which_runs_it(queued_app, work, overdue_checkout):
    checkout, product = overdue_checkout
    outcome = enqueue(tasks.expire_reservations)
    assert outcome["queued"] is True
    assert job_queue.queue_depths() == {"default": 1, "mail": 0}
    db.session.expire_all()
    assert checkout.status == CheckoutStatus.pending_payment and stock(product) == 6  # not yet

    assert work() is True
    assert checkout.status == CheckoutStatus.cancelled and stock(product) == 10
    assert Job.fetch(outcome["job_id"], connection=connection()).return_value() == {"expired": 1}
    assert job_queue.queue_depths() == {"default": 0, "mail": 0}


def _due_now(queue: Queue, job_id: str) -> float:
    """Let the retry's wait pass (instead of sleeping through it): returns how many
    seconds from now the retry had been scheduled."""
    registry = queue.scheduled_job_registry
    wait = registry.connection.zscore(registry.key, job_id) - time.time()
    registry.connection.zadd(registry.key, {job_id: time.time() - 1})
    return wait


def test_a_failing_job_is_retried_with_backoff_then_shown_to_admins_who_retry_it(
        queued_app, work, show_soon, make, monkeypatch):
    show, (ana, bo) = show_soon
    real_send = fail_mail_to(monkeypatch, bo.email)
    job_id = enqueue(tasks.send_reminders, queue="mail")["job_id"]
    mail = Queue("mail", connection=connection())

    work()
    assert reminded() == {ana.email}  # Ana's mail went; Bo's failed
    waits = []
    for _ in RETRY_INTERVALS:
        assert job_id in mail.scheduled_job_registry.get_job_ids()
        waits.append(_due_now(mail, job_id))
        work()  # the scheduler moves the due retry onto the queue; it fails again
    # 10 s, 1 min, 5 min after each failure (less the time the test took since)
    assert all(interval - 10 < wait <= interval for wait, interval in zip(waits, RETRY_INTERVALS)), waits
    assert mail.failed_job_registry.get_job_ids() == [job_id]
    assert reminded() == {ana.email}  # Bo's claim was released after each failure; Ana's stays

    client = admin_client(queued_app, make)
    page = client.get("/admin/jobs").get_data(as_text=True)
    assert "Mail live show reminders" in page and "ConnectionRefusedError: smtp down" in page
    assert f"/admin/jobs/mail/{job_id}/retry" in page

    monkeypatch.setitem(queued_app.config, "WTF_CSRF_ENABLED", True)
    assert client.post(f"/admin/jobs/mail/{job_id}/retry").status_code == 400  # no CSRF token
    assert mail.failed_job_registry.get_job_ids() == [job_id]
    token = csrf_token(client.get("/admin/jobs").get_data(as_text=True))
    retried = client.post(f"/admin/jobs/mail/{job_id}/retry", data={"csrf_token": token}, follow_redirects=True)
    assert "The job is back on the queue" in retried.get_data(as_text=True)
    assert mail.failed_job_registry.get_job_ids() == [] and mail.count == 1

    monkeypatch.setattr(tasks, "send_mail", real_send)  # the mail server is back
    work()
    assert reminded() == {ana.email, bo.email}
    assert "No failed jobs." in client.get("/admin/jobs").get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(AuditRecord).where(
        AuditRecord.action == "job.retry")) == 1


def test_admin_deletes_a_failed_job_and_a_stale_button_says_so(queued_app, work, show_soon, make, monkeypatch):
    show, (ana, bo) = show_soon
    fail_mail_to(monkeypatch, bo.email)
    monkeypatch.setattr(job_queue, "retry_policy", lambda: None)  # fail for good at once
    job_id = enqueue(tasks.send_reminders, queue="mail")["job_id"]
    work()
    client = admin_client(queued_app, make)
    assert job_id in client.get("/admin/jobs").get_data(as_text=True)

    deleted = client.post(f"/admin/jobs/mail/{job_id}/delete", follow_redirects=True).get_data(as_text=True)
    assert "The failed job was deleted." in deleted and "No failed jobs." in deleted
    again = client.post(f"/admin/jobs/mail/{job_id}/retry", follow_redirects=True)
    assert again.status_code == 200
    assert "That job is no longer among the failed jobs." in again.get_data(as_text=True)
    assert client.post(f"/admin/jobs/nosuchqueue/{job_id}/retry").status_code == 404
    assert client.post("/admin/jobs/mail/bad%20id!/retry").status_code == 404


def test_periodic_jobs_are_enqueued_once_per_period_and_run_by_the_worker(queued_app, work, overdue_checkout,
                                                                          monkeypatch):
    checkout, product = overdue_checkout
    monkeypatch.setattr(schedule, "time", SimpleNamespace(time=lambda: 1_800_000_030.0))
    scheduler = schedule.cron_scheduler(connection())
    registered = {job.name: (job.interval, job.cron) for job in scheduler.get_jobs()}
    assert registered == {"expire_reservations": (60, None), "send_reminders": (60, None),
                          "end_overdue_shows": (60, None),
                          "auto_deliver": (3600, None), "monitoring_scan": (None, "30 2 * * *"),
                          "ledger_verify": (None, "0 2 * * *")}

    due = {job.name for job in scheduler.enqueue_jobs()}  # what the CronScheduler does on start
    assert due == {"expire_reservations", "send_reminders", "end_overdue_shows", "auto_deliver"}  # the nightly ones wait for 02:00/02:30
    second_scheduler = schedule.cron_scheduler(connection())  # another worker's, same minute
    second_scheduler.enqueue_jobs()
    work()
    db.session.expire_all()
    assert checkout.status == CheckoutStatus.cancelled and stock(product) == 10
    default = Queue("default", connection=connection())
    ran = [job_id for job_id in default.finished_job_registry.get_job_ids() if job_id.startswith("expire_")]
    assert ran == [f"expire_reservations-{1_800_000_030 // 60}"]  # once, though two schedulers asked


def test_one_run_at_a_time_across_workers(queued_app, overdue_checkout):
    checkout, product = overdue_checkout
    lock = connection().lock("marketplace:jobs:running:marketplace.jobs.tasks.expire_reservations", timeout=30)
    assert lock.acquire(blocking=False)  # another worker is expiring reservations right now
    assert tasks.expire_reservations() == SKIPPED
    db.session.expire_all()
    assert checkout.status == CheckoutStatus.pending_payment
    lock.release()
    assert tasks.expire_reservations() == {"expired": 1}
    assert stock(product) == 10
