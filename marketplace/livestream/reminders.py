"""'Remind me', the reminder mails a configurable time before the start, subscriber
notices when a show moves or is cancelled, and the RFC 5545 calendar file."""
from datetime import timedelta

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from icalendar import Calendar, Event
from sqlalchemy import select

from ..auth.models import User
from ..core.db import utcnow
from ..core.mail import send_mail
from ..core.urls import external_url
from ..extensions import db
from .models import Reminder, Show, ShowStatus


def subscribe(user, show) -> Reminder:
    existing = db.session.scalar(select(Reminder).where(Reminder.show_id == show.id, Reminder.user_id == user.id))
    if existing:
        return existing
    reminder = Reminder(show_id=show.id, user_id=user.id)
    db.session.add(reminder)
    db.session.flush()
    return reminder


def send_due(now=None) -> int:
    """Mail every subscriber whose show starts within REMINDER_LEAD; each once.
    (The background job, marketplace/jobs/tasks.py, does the same claim-first.)"""
    now = now or utcnow()
    due = due_reminders(now)
    for reminder, show, user in due:
        send_mail(*reminder_mail(user, show))
        reminder.sent_at = now
    return len(due)


def due_reminders(now) -> list:
    """(Reminder, Show, User) rows not yet sent for shows starting within REMINDER_LEAD."""
    lead = timedelta(minutes=current_app.config["REMINDER_LEAD_MINUTES"])
    return db.session.execute(select(Reminder, Show, User).join(Show, Show.id == Reminder.show_id)
                              .join(User, User.id == Reminder.user_id).where(
        Reminder.sent_at.is_(None), Show.status == ShowStatus.scheduled,
        Show.starts_at <= now + lead, Show.starts_at > now - timedelta(minutes=5))).all()


def reminder_mail(user, show) -> tuple[str, str, str]:
    """(to, subject, body) of the "starting soon" mail, in the subscriber's language."""
    with force_locale(user.locale or "zh_CN"):
        return (user.email, _("Starting soon: %(title)s", title=show.title),
                _("The live show “%(title)s” starts soon. Join here: %(link)s", title=show.title,
                  link=external_url("livestream.room", show_id=show.id)))


def tell_subscribers(show, what: str) -> None:
    rows = db.session.execute(select(User).join(Reminder, Reminder.user_id == User.id)
                              .where(Reminder.show_id == show.id)).scalars().all()
    for user in rows:
        with force_locale(user.locale or "zh_CN"):
            subject = (_("Show cancelled: %(title)s", title=show.title) if what == "cancelled"
                       else _("New time for %(title)s", title=show.title))
            send_mail(user.email, subject, external_url("livestream.room", show_id=show.id))


def ics(show) -> bytes:
    cal = Calendar()
    cal.add("prodid", "-//Rural Goods Market//Live shows//EN")
    cal.add("version", "2.0")
    event = Event()
    event.add("uid", f"show-{show.id}@{current_app.config['BASE_URL'].split('//')[-1].split('/')[0]}")
    event.add("dtstamp", utcnow())
    event.add("dtstart", show.starts_at)
    event.add("dtend", show.ends_at)
    event.add("summary", show.title)
    event.add("description", (show.description or "")[:1000])
    event.add("url", external_url("livestream.room", show_id=show.id))
    if show.status == ShowStatus.cancelled:
        event.add("status", "CANCELLED")
    cal.add_component(event)
    return cal.to_ical()
