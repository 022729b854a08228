"""The jobs of buying and live shows. Each is idempotent: running it twice, or again
after a failure, changes nothing the first run already did.

* expire_reservations: a checkout is cancelled by a guarded update (only while still
  pending), so a second run finds nothing to do.
* auto_deliver: only orders not yet delivered are picked.
* send_reminders: a reminder is claimed (sent_at set, committed) before its mail goes
  out; if a mail fails, the reminders not yet mailed are released and the job fails, so
  its retry mails those and nobody twice. (A process killed between the claim and the
  mail loses that mail: at most once, never twice.)

The monitoring scan is monitoring/jobs.py.
"""
from sqlalchemy import update

from ..core.db import utcnow
from ..core.mail import send_mail
from ..extensions import db
from ..livestream.models import Reminder
from ..livestream.reminders import due_reminders, reminder_mail
from ..orders import checkout, fulfilment
from .task import task

LOCK_SECONDS = 10 * 60  #: longest expected run of one of these jobs; a longer lock would block the next


@task(exclusive_for=LOCK_SECONDS)
def expire_reservations() -> dict:
    """Unpaid checkouts past their reservation: cancelled, stock back on sale."""
    return {"expired": checkout.expire_reservations()}


@task(exclusive_for=LOCK_SECONDS)
def auto_deliver() -> dict:
    """Parcels shipped 14+ days ago that the buyer never confirmed: delivered."""
    return {"delivered": fulfilment.auto_deliver()}


@task(exclusive_for=LOCK_SECONDS)
def send_reminders() -> dict:
    """Mail "starting soon" for shows within REMINDER_LEAD_MINUTES; each subscriber once."""
    now = utcnow()
    claimed = [(reminder.id, reminder_mail(user, show)) for reminder, show, user in due_reminders(now)
               if _claim(reminder.id, now)]
    db.session.commit()  # the claims are durable before any mail leaves
    for done, (_, mail) in enumerate(claimed):
        try:
            send_mail(*mail)
        except Exception:
            _release([reminder_id for reminder_id, _ in claimed[done:]])
            db.session.commit()
            raise
    return {"sent": len(claimed)}


def _claim(reminder_id: int, now) -> bool:
    return db.session.execute(update(Reminder).where(Reminder.id == reminder_id, Reminder.sent_at.is_(None))
                              .values(sent_at=now).execution_options(synchronize_session=False)).rowcount == 1


def _release(reminder_ids: list[int]) -> None:
    db.session.execute(update(Reminder).where(Reminder.id.in_(reminder_ids))
                       .values(sent_at=None).execution_options(synchronize_session=False))
