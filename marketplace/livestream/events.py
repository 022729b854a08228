"""Room events: numbered per show, stored, and published after the transaction commits
(so a viewer never sees an event that was rolled back).

An event is numbered as its transaction commits, not when it is emitted: the per-show
counter is bumped by one UPDATE of the show's row, whose row lock orders the writers of
one room (events reach the database and the viewers in number order). Taking that lock
at commit holds it for milliseconds; taken at emit time it was held for the rest of the
transaction, and a live checkout calls the payment provider after it takes its units,
so every pin, chat line and sale of the room waited for other buyers' payment calls.
"""
from flask import current_app
from sqlalchemy import event, select, update

from ..extensions import db
from .models import Show, ShowEvent

QUEUED = "queued_room_events"  #: emitted in this transaction, numbered at commit
PENDING = "pending_room_events"  #: numbered and stored, published after the commit


def channel(show_id: int) -> str:
    return f"live:show:{show_id}"


def emit(show: Show, type_: str, data: dict) -> None:
    """Append an event to the show's room when this transaction commits."""
    db.session.info.setdefault(QUEUED, []).append((show.id, type_, data))


def stock_data(item) -> dict:
    """A `stock` event's data: what is left at the live price (the room), sold of quota (the console)."""
    return {"product_id": item.product_id, "remaining": item.remaining, "sold": item.sold, "quota": item.quota}


def as_message(record: ShowEvent) -> dict:
    return {"id": record.seq, "type": record.type, "data": record.data}


def events_after(show_id: int, after_seq: int, limit: int = 500) -> list[dict]:
    rows = db.session.scalars(select(ShowEvent).where(ShowEvent.show_id == show_id, ShowEvent.seq > after_seq)
                              .order_by(ShowEvent.seq).limit(limit)).all()
    return [as_message(r) for r in rows]


def init_app(app):
    from ..core.realtime import make_broker

    app.extensions["broker"] = make_broker(app.config.get("REDIS_URL"))


@event.listens_for(db.session, "before_commit")
def _number(session):
    """Number and store the queued events (the commit's flush writes them)."""
    queued = session.info.pop(QUEUED, [])
    shows = Show.__table__
    for show_id, type_, data in queued:
        # on the session's connection, past the ORM's hooks: the counter is no storefront
        # change (catalog/changes.py would empty the page cache for every chat line)
        seq = session.connection().execute(update(shows).where(shows.c.id == show_id)
                                           .values(event_seq=shows.c.event_seq + 1)
                                           .returning(shows.c.event_seq)).scalar_one()
        record = ShowEvent(show_id=show_id, seq=seq, type=type_, data=data)
        session.add(record)
        session.info.setdefault(PENDING, []).append((show_id, as_message(record)))


@event.listens_for(db.session, "after_commit")
def _publish(session):
    pending = session.info.pop(PENDING, [])
    if pending:
        broker = current_app.extensions["broker"]
        for show_id, message in pending:
            broker.publish(channel(show_id), message)


@event.listens_for(db.session, "after_rollback")
def _forget(session):
    session.info.pop(QUEUED, None)
    session.info.pop(PENDING, None)


@event.listens_for(db.session, "after_transaction_end")
def _forget_at_end(session, transaction):
    """A transaction closed without commit or rollback (session.close()) leaves nothing
    behind for the session's next transaction to publish."""
    if transaction.parent is None:
        _forget(session)
