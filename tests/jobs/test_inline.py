"""Jobs without Redis (the embedded default): they run inline, their result or their
error goes to the caller, and each is idempotent. The admin page says there is no queue."""
import logging

import pytest
from sqlalchemy import select

from marketplace.auth.models import Role
from marketplace.extensions import db
from marketplace.jobs import tasks
from marketplace.jobs.queue import enqueue
from marketplace.livestream.models import Reminder
from marketplace.orders.models import CheckoutStatus
from tests.conftest import PASSWORD
from tests.orders.helpers import stock


def reminder_subjects(app):
    return [(m["To"], m["Subject"]) for m in app.extensions.get("mail_outbox", [])
            if m["Subject"].startswith("Starting soon")]


def test_a_job_runs_inline_and_its_effect_is_there_when_enqueue_returns(app, overdue_checkout):
    checkout, product = overdue_checkout
    assert stock(product) == 6

    assert enqueue(tasks.expire_reservations) == {"queued": False, "result": {"expired": 1}}
    db.session.expire_all()
    assert checkout.status == CheckoutStatus.cancelled and stock(product) == 10
    assert enqueue(tasks.expire_reservations)["result"] == {"expired": 0}  # a rerun changes nothing
    assert stock(product) == 10


def test_reminders_go_out_once_even_when_the_mail_server_fails_half_way(app, show_soon, monkeypatch, caplog):
    show, (ana, bo) = show_soon
    from marketplace.core import mail

    real_send = mail.send_mail

    def send_but_fail_for_bo(to, subject, body):
        if to == bo.email:
            raise ConnectionRefusedError("smtp down")
        real_send(to, subject, body)

    monkeypatch.setattr(tasks, "send_mail", send_but_fail_for_bo)
    with caplog.at_level(logging.ERROR, logger="marketplace.jobs"), pytest.raises(ConnectionRefusedError):
        enqueue(tasks.send_reminders, queue="mail")  # inline: the failure reaches the caller ...
    assert "send_reminders failed" in caplog.text  # ... and the log
    assert reminder_subjects(app) == [(ana.email, "Starting soon: Wood-ear harvest live")]

    monkeypatch.setattr(tasks, "send_mail", real_send)  # the mail server is back: the retry
    assert enqueue(tasks.send_reminders, queue="mail")["result"] == {"sent": 1}
    assert enqueue(tasks.send_reminders, queue="mail")["result"] == {"sent": 0}
    assert sorted(to for to, _ in reminder_subjects(app)) == [ana.email, bo.email]  # nobody twice
    db.session.expire_all()
    assert all(r.sent_at for r in db.session.scalars(select(Reminder)))


def test_cron_command_sends_reminders_through_the_same_job(app, show_soon):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["live", "send-reminders"]).output.strip() == "sent 2 reminder(s)"
    assert runner.invoke(args=["live", "send-reminders"]).output.strip() == "sent 0 reminder(s)"


def test_worker_command_needs_redis(app):
    result = app.test_cli_runner().invoke(args=["worker"])
    assert result.exit_code == 2
    assert "flask worker needs REDIS_URL" in result.output


def login(app, user):
    client = app.test_client()
    assert client.post("/login", data={"email": user.email, "password": PASSWORD}).status_code == 302
    return client


def test_jobs_page_is_for_admins_and_explains_inline_mode(app, make):
    assert app.test_client().get("/admin/jobs").status_code == 302  # to the login page
    staff = login(app, make.staff())
    assert staff.get("/admin/jobs").status_code == 403
    assert 'href="/admin/jobs"' not in staff.get("/").get_data(as_text=True)
    page = login(app, make.user(role=Role.admin)).get("/admin/jobs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'href="/admin/jobs"' in html  # the admin's menu leads here
    assert "REDIS_URL is not set, so there is no queue" in html
    assert "flask orders expire-reservations" in html  # what to put in cron instead
    assert "every 60 seconds" in html


def test_retry_without_redis_is_not_found(app, make):
    admin = login(app, make.user(role=Role.admin))
    assert admin.post("/admin/jobs/default/abc/retry").status_code == 404


def test_jobs_page_says_so_when_redis_is_down(app, make, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:1/0")  # nothing listens there
    page = login(app, make.user(role=Role.admin)).get("/admin/jobs")
    assert page.status_code == 200
    assert "Redis cannot be reached, so the queues cannot be shown." in page.get_data(as_text=True)
