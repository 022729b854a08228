"""The live room's Server-Sent Events stream.

A new viewer first gets the room's state (status, pin, stock, recent chat) as
the latest events; a reconnecting viewer sends Last-Event-ID and gets every event
after it from the database. Then events arrive from the broker as they are
published. If the broker skipped some (a slow viewer, another process while
Redis was down), the gap is filled from the database, so nothing is lost.

Thousands of streams share a worker (gunicorn gevent), so what each costs matters:
no database transaction stays open while a stream waits; at most DATABASE_SLOTS
streams of a process use the database at once; a crowd joining together shares one
read of the room's state; a published event is formatted once per process.
"""
import functools
import json
import threading
import time
from contextlib import contextmanager

from flask import current_app
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ..core.db import utcnow
from ..extensions import db
from .events import channel, events_after
from .models import Show, ShowViewer

KEEPALIVE_SECONDS = 15
VIEWERS_EVERY_SECONDS = 5
#: streams of one process using the database at once; below the pool's 5 + 10 connections
#: so the pages and API requests of a process serving both still get one
DATABASE_SLOTS = 8
STATE_TTL_SECONDS = 2.0  #: longest reuse of a room's state for new viewers (see _room_state)
_TEXT = "_sse_text"  #: where a published or shared state message keeps its formatted text


@contextmanager
def database_slot(app):
    """Hold one of the process's DATABASE_SLOTS. A crowd of viewers arriving together
    (the show starts, a server restarts and every viewer reconnects) queues here, where
    waiting costs nothing and has no deadline, rather than at the connection pool, which
    gives up after 30 s with an error: an HTTP 500 that EventSource never retries."""
    slots = app.extensions.get("live_database_slots")
    if slots is None:  # made on first use: after gevent's monkey-patching, so a greenlet waits
        slots = app.extensions.setdefault("live_database_slots", threading.BoundedSemaphore(DATABASE_SLOTS))
    with slots:
        yield


def admitted(view):
    """The event stream's view runs its database work (access, viewer counting) in a slot."""
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        with database_slot(current_app):
            return view(*args, **kwargs)
    return wrapper


def format_event(message: dict) -> str:
    return f"id: {message['id']}\nevent: {message['type']}\ndata: {json.dumps(message['data'], ensure_ascii=False)}\n\n"


def _initial(app, show_id: int, last_seen: int | None) -> tuple[list[dict], int]:
    with database_slot(app):
        return _initial_in_slot(app, show_id, last_seen)


def _initial_in_slot(app, show_id, last_seen):
    try:
        if last_seen is not None:
            backlog = events_after(show_id, last_seen)
            return backlog, (backlog[-1]["id"] if backlog else last_seen)
        return _room_state(app, show_id)
    finally:
        db.session.remove()  # release the connection before the long wait


def _room_state(app, show_id: int) -> tuple[list[dict], int]:
    """The room's state for a new viewer. Viewers arrive in crowds (the show starts, a
    server restarts and every viewer reconnects), so this process builds the state once
    per change of the room and hands the same messages to everyone who arrives while
    the room's event number stays the same (for at most STATE_TTL_SECONDS, so a change
    that is no room event, a product's new title, shows up soon)."""
    states = app.extensions.setdefault("live_room_states", {})
    seq = db.session.scalar(select(Show.event_seq).where(Show.id == show_id))
    cached = states.get(show_id)
    if cached and cached[0] == seq and time.monotonic() - cached[1] < STATE_TTL_SECONDS:
        return cached[2], seq
    show = db.session.get(Show, show_id)
    messages = _state_messages(show, show.event_seq)
    if len(states) > 1000:  # rooms nobody joined lately
        states.clear()
    states[show_id] = (show.event_seq, time.monotonic(), messages)
    return messages, show.event_seq


def _state_messages(show, seq) -> list[dict]:
    from . import chat
    from .services import current_pin, item_card

    messages = [{"id": seq, "type": "status", "data": {"status": show.status.value}}]
    pin = current_pin(show)
    items = {i.id: i for i in show.items}
    if pin and pin.item_id in items:
        messages.append({"id": seq, "type": "pin", "data": item_card(items[pin.item_id])})
    for item in show.items:
        messages.append({"id": seq, "type": "stock", "data": {"product_id": item.product_id,
                                                              "remaining": item.remaining}})
    messages += [{"id": seq, "type": "chat", "data": m} for m in chat.recent(show, 30)]
    return messages


def _catch_up(show_id, after) -> list[dict]:
    with database_slot(current_app):
        try:
            return events_after(show_id, after)
        finally:
            db.session.remove()


def record_viewer(show_id: int, viewer_key: str) -> None:
    """Count a distinct viewer once: one INSERT that does nothing when the row exists
    (the unique key decides, so two tabs of one viewer racing are fine too)."""
    try:
        dialect = db.session.get_bind().dialect.name
        insert = {"postgresql": pg_insert, "sqlite": sqlite_insert}.get(dialect)
        if insert is None:
            _record_viewer_portably(show_id, viewer_key)
        else:
            db.session.execute(insert(ShowViewer).values(show_id=show_id, viewer_key=viewer_key,
                                                         first_seen_at=utcnow())
                               .on_conflict_do_nothing(index_elements=["show_id", "viewer_key"]))
        db.session.commit()
    except Exception:  # noqa: BLE001 - counting is best effort; the stream goes on
        db.session.rollback()
    finally:
        db.session.remove()


def _record_viewer_portably(show_id, viewer_key):
    exists = db.session.scalar(select(ShowViewer.id).where(ShowViewer.show_id == show_id,
                                                           ShowViewer.viewer_key == viewer_key))
    if not exists:
        db.session.add(ShowViewer(show_id=show_id, viewer_key=viewer_key))


def event_stream(app, show_id: int, last_seen: int | None, max_seconds: float | None = None):
    """Generator of SSE text. `max_seconds` ends it (tests, and to recycle very long connections)."""
    # a request context (not only an app context): the pin card's image URLs need url_for
    with app.test_request_context(base_url=app.config["BASE_URL"]):
        broker = app.extensions["broker"]
        sub = broker.subscribe(channel(show_id))
        try:
            messages, last = _initial(app, show_id, last_seen)
            yield "retry: 3000\n\n" + "".join(shared_text(m) for m in messages)
            if last_seen is None:  # a new viewer sees the count at once (a resuming one has it)
                yield _viewers(broker, show_id, last)
            yield from _follow(app, broker, sub, show_id, last, max_seconds)
        finally:
            sub.close()


def _follow(app, broker, sub, show_id, last, max_seconds):
    started = last_viewers = time.monotonic()
    while max_seconds is None or time.monotonic() - started < max_seconds:
        incoming = sub.wait(KEEPALIVE_SECONDS if max_seconds is None else min(1.0, max_seconds))
        texts, last = _texts(incoming, show_id, last)
        if not incoming:
            texts.append(": keepalive\n\n")
        if time.monotonic() - last_viewers >= VIEWERS_EVERY_SECONDS:
            last_viewers = time.monotonic()
            texts.append(_viewers(broker, show_id, last))
        if texts:  # one write for everything that arrived together (a flash sale's burst of stock events)
            yield "".join(texts)


def _texts(incoming, show_id, last) -> tuple[list[str], int]:
    """The SSE text of the messages that arrived, in event order, without repeats; a gap
    (a slow viewer, another process while Redis was down) is filled from the database,
    and so is whatever was missed when the broker says its Redis listener is back."""
    texts = []
    for message in incoming:
        kind = message.get("type")
        if kind == "viewers":
            texts.append(format_event({**message, "id": last}))
        elif kind == "resync" or message["id"] > last + 1:  # missed some: fetch them, in order
            for missed in _catch_up(show_id, last):
                if missed["id"] > last:
                    texts.append(format_event(missed))
                    last = missed["id"]
        elif message["id"] == last + 1:
            texts.append(shared_text(message))
            last = message["id"]
        # else: already sent (e.g. in the catch-up)
    return texts, last


def shared_text(message: dict) -> str:
    """The SSE text of a published message or a shared state message. The broker hands
    the same dict to every stream of the room in this process (and _room_state the same
    state to a crowd), so it is formatted once, not once per viewer."""
    text = message.get(_TEXT)
    if text is None:
        text = message[_TEXT] = format_event(message)
    return text


def _viewers(broker, show_id, last) -> str:
    """The room's open streams, in every process when rooms fan out through Redis
    (the id repeats the last event's: a count is not an event to resume from)."""
    return format_event({"id": last, "type": "viewers", "data": {"count": broker.count(channel(show_id))}})
