"""Room events: numbered per show, stored, and published after the transaction commits
(so a viewer never sees an event that was rolled back)."""
from flask import current_app
from sqlalchemy import event, select, update

from ..extensions import db
from .models import Show, ShowEvent

PENDING = "pending_room_events"


def channel(show_id: int) -> str:
    return f"live:show:{show_id}"


def emit(show: Show, type_: str, data: dict) -> ShowEvent:
    """Append an event to the show's room. The per-show counter is bumped by one
    guarded UPDATE, which also serialises concurrent writers of one room."""
    seq = db.session.execute(update(Show).where(Show.id == show.id).values(event_seq=Show.event_seq + 1)
                             .returning(Show.event_seq)).scalar_one()
    record = ShowEvent(show_id=show.id, seq=seq, type=type_, data=data)
    db.session.add(record)
    db.session.flush()
    db.session.info.setdefault(PENDING, []).append((show.id, as_message(record)))
    return record


def as_message(record: ShowEvent) -> dict:
    return {"id": record.seq, "type": record.type, "data": record.data}


def events_after(show_id: int, after_seq: int, limit: int = 500) -> list[dict]:
    rows = db.session.scalars(select(ShowEvent).where(ShowEvent.show_id == show_id, ShowEvent.seq > after_seq)
                              .order_by(ShowEvent.seq).limit(limit)).all()
    return [as_message(r) for r in rows]


def init_app(app):
    from ..core.realtime import make_broker

    app.extensions["broker"] = make_broker(app.config.get("REDIS_URL"))


@event.listens_for(db.session, "after_commit")
def _publish(session):
    pending = session.info.pop(PENDING, [])
    if pending:
        broker = current_app.extensions["broker"]
        for show_id, message in pending:
            broker.publish(channel(show_id), message)


@event.listens_for(db.session, "after_rollback")
def _forget(session):
    session.info.pop(PENDING, None)
