"""The live room's Server-Sent Events stream.

A new viewer first gets the room's state (status, pin, stock, recent chat) as
the latest events; a reconnecting viewer sends Last-Event-ID and gets every event
after it from the database. Then events arrive from the broker as they are
published. If the broker skipped some (a slow viewer, another process while
Redis was down), the gap is filled from the database, so nothing is lost.

Thousands of streams share a worker (gunicorn gevent), so what each costs matters:
no database transaction stays open while a stream waits; at most DATABASE_SLOTS
streams of a process use the database at once; a viewer joining costs one small
read (who may watch, the room's event number), the state itself is read once per
change of the room and shared by the crowd; viewers are counted in batches
(audience.py); a published event, and each viewer count, is formatted once per process.
"""
import functools
import json
import threading
import time
from contextlib import contextmanager

from flask import Response, current_app, request, session
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..coops.models import Cooperative, CoopStatus
from ..core.errors import NotFound
from ..extensions import db
from .audience import audience
from .events import channel, events_after, stock_data
from .models import Show, ShowStatus
from .report import may_view, viewer_key

KEEPALIVE_SECONDS = 15
VIEWERS_EVERY_SECONDS = 5
#: streams of one process using the database at once; below the pool's 5 + 10 connections
#: so the pages and API requests of a process serving both still get one
DATABASE_SLOTS = 8
STATE_TTL_SECONDS = 2.0  #: longest reuse of a room's state for new viewers (see _room_state)
GAP_WAIT_SECONDS = 0.5  #: how long an event that arrived early waits for the ones before it (see _texts)
CATCH_UP_SECONDS = 0.5  #: how long this process's streams share one read of missed events
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


def _initial(app, show_id: int, last_seen: int | None, seq: int | None = None) -> tuple[list[dict], int]:
    """What a viewer gets first: the events after Last-Event-ID, or the room's state.
    `seq`: the room's event number, when the caller read it (after subscribing)."""
    with database_slot(app):
        return _initial_in_slot(app, show_id, last_seen, seq)


def _initial_in_slot(app, show_id, last_seen, seq=None):
    try:
        if last_seen is not None:
            if seq is not None and last_seen >= seq:  # missed nothing (a reconnect after a restart)
                return [], last_seen
            backlog = events_after(show_id, last_seen)
            return backlog, (backlog[-1]["id"] if backlog else last_seen)
        return _room_state(app, show_id, seq)
    finally:
        db.session.remove()  # release the connection before the long wait


def _room_state(app, show_id: int, seq: int | None = None) -> tuple[list[dict], int]:
    """The room's state for a new viewer. Viewers arrive in crowds (the show starts, a
    server restarts and every viewer reconnects), so this process builds the state once
    per change of the room and hands the same messages to everyone who arrives while
    the room's event number stays the same (for at most STATE_TTL_SECONDS, so a change
    that is no room event, a product's new title, shows up soon)."""
    states = app.extensions.setdefault("live_room_states", {})
    if seq is None:
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
    messages += [{"id": seq, "type": "stock", "data": stock_data(item)} for item in show.items]
    messages += [{"id": seq, "type": "chat", "data": m} for m in chat.recent(show, 30)]
    return messages


def _catch_up(app, show_id, after) -> list[dict]:
    """The room's events after `after`, from the database. When a crowd of this process's
    streams needs the same ones at once (Redis came back, a burst arrived out of order),
    one of them reads and the others reuse it for CATCH_UP_SECONDS: what was committed
    since then reaches each stream through the broker, which it is subscribed to."""
    shared = app.extensions.setdefault("live_catch_ups", {})
    key, now = (show_id, after), time.monotonic()
    found = shared.get(key)
    if found and now - found[0] < CATCH_UP_SECONDS:
        return found[1]
    with database_slot(app):
        found = shared.get(key)  # read by another stream while this one waited for a slot
        if found and time.monotonic() - found[0] < CATCH_UP_SECONDS:
            return found[1]
        try:
            events = events_after(show_id, after)
        finally:
            db.session.remove()
    if len(shared) > 1000:
        shared.clear()
    shared[key] = (time.monotonic(), events)
    return events


def open_room_stream(show_id: int, user, last_seen: int | None, max_seconds: float | None,
                     counted: bool = True) -> Response:
    """The event stream's response, for a viewer allowed to see the show (else NotFound).
    Called in a database slot (see `admitted`). A crowd opens it at once, so a join is
    one small read (who may watch, the room's event number) and, while the room does not
    change, the state this process already built: the stream subscribes first, so no
    event published after that read is missed."""
    app = current_app._get_current_object()
    sub = app.extensions["broker"].subscribe(channel(show_id))
    try:
        row = db.session.execute(select(Show.status, Show.cooperative_id, Cooperative.status, Show.event_seq,
                                        Cooperative.county)
                                 .join(Cooperative, Cooperative.id == Show.cooperative_id)
                                 .where(Show.id == show_id)).first() if 0 < show_id < 2**31 else None
        if row is None or not may_view(row[1], row[4], row[2] == CoopStatus.verified, user):
            raise NotFound(_l("No such show."))
        db.session.remove()  # the read ends before any write (SQLite: a read turned write can deadlock)
        if counted and row[0] in (ShowStatus.scheduled, ShowStatus.live):
            key = viewer_key(user, session.get("live_viewer"), request.remote_addr or "", request.user_agent.string)
            watching = audience(app)
            watching.joined(show_id, key, sub.broker.count(channel(show_id)))  # (this viewer is subscribed)
            if watching.due():
                watching.write()
        opened = (sub, *_initial_in_slot(app, show_id, last_seen, row[3]))  # (the view holds a slot)
    except BaseException:
        sub.close()
        raise
    finally:
        db.session.remove()  # no transaction or connection stays with the stream
    stream = _Opened(event_stream(app, show_id, last_seen, max_seconds, opened=opened), sub)
    return Response(stream, mimetype="text/event-stream", headers={"Cache-Control": "no-cache",
                                                                   "X-Accel-Buffering": "no"})


class _Opened:
    """The stream's body: the server closes it when the viewer leaves, and that ends the
    subscription even if the body was never read (a HEAD request, a client gone at once),
    when the generator's own `finally` would never run."""

    def __init__(self, stream, sub):
        self.stream, self.sub = stream, sub

    def __iter__(self):
        return self.stream

    def close(self):
        self.stream.close()
        self.sub.close()


def _write_audience(app, force=False):
    """Write the buffered viewer counting if some is due (a stream's tick, or its end)."""
    watching = audience(app)
    if watching.due(force):
        with database_slot(app):
            try:
                watching.write(force)
            finally:
                db.session.remove()


def event_stream(app, show_id: int, last_seen: int | None, max_seconds: float | None = None, opened=None):
    """Generator of SSE text. `max_seconds` ends it (tests, and to recycle very long connections).
    `opened`: (subscription, first messages, last event id) when the caller began the stream."""
    # a request context (not only an app context): the pin card's image URLs need url_for
    with app.test_request_context(base_url=app.config["BASE_URL"]):
        broker = app.extensions["broker"]
        if opened is None:
            sub = broker.subscribe(channel(show_id))
            try:
                messages, last = _initial(app, show_id, last_seen)
            except BaseException:
                sub.close()
                raise
        else:
            sub, messages, last = opened
        try:
            yield "retry: 3000\n\n" + "".join(shared_text(m) for m in messages)
            if last_seen is None:  # a new viewer sees the count at once (a resuming one has it)
                yield _viewers(broker, show_id, last)
            yield from _follow(app, broker, sub, show_id, last, max_seconds)
        finally:
            sub.close()
            _write_audience(app, force=True)  # what this process still holds (the first to leave writes it)


def _follow(app, broker, sub, show_id, last, max_seconds):
    started = last_viewers = time.monotonic()
    ahead = _Ahead()
    while max_seconds is None or time.monotonic() - started < max_seconds:
        wait = KEEPALIVE_SECONDS if max_seconds is None else min(1.0, max_seconds)
        gap_open = bool(ahead)
        incoming = sub.wait(min(wait, GAP_WAIT_SECONDS) if gap_open else wait)
        texts, last = _texts(app, incoming, show_id, last, ahead)
        if not incoming and not gap_open:
            texts.append(": keepalive\n\n")
        if time.monotonic() - last_viewers >= VIEWERS_EVERY_SECONDS:
            last_viewers = time.monotonic()
            texts.append(_viewers(broker, show_id, last))
            _write_audience(app)
        if texts:  # one write for everything that arrived together (a flash sale's burst of stock events)
            yield "".join(texts)


class _Ahead(dict):
    """A stream's events that arrived before an earlier one (event id -> message), and
    since when the earliest gap has been open."""
    since = 0.0


def _texts(app, incoming, show_id, last, ahead) -> tuple[list[str], int]:
    """The SSE text of the messages that arrived, in event order, without repeats.
    Events are numbered as their transactions commit but published just after, so two
    commits close together (a flash sale's purchases) can arrive in the other order:
    a message ahead of the next number waits up to GAP_WAIT_SECONDS for the ones before
    it. A gap still open then (a slow viewer, another process while Redis was down) is
    filled from the database, and so is whatever was missed when the broker says its
    Redis listener is back."""
    texts, resync = [], False
    for message in incoming:
        kind = message.get("type")
        if kind == "viewers":
            texts.append(format_event({**message, "id": last}))
        elif kind == "resync":
            resync = True
            texts.append(_connection_event("live", last))
        elif kind == "delayed":
            texts.append(_connection_event("delayed", last))
        elif message["id"] > last:
            if not ahead:
                ahead.since = time.monotonic()
            ahead[message["id"]] = message
        # else: already sent (e.g. in the catch-up)
    last = _in_order(ahead, last, texts)
    if resync or (ahead and time.monotonic() - ahead.since >= GAP_WAIT_SECONDS):
        for missed in _catch_up(app, show_id, last):
            if missed["id"] > last:
                texts.append(format_event(missed) if missed["id"] not in ahead else shared_text(ahead[missed["id"]]))
                last = missed["id"]
        last = _in_order(ahead, last, texts)
        ahead.since = time.monotonic()  # what is still ahead (committed after the read) gets its own wait
    return texts, last


def _connection_event(state: str, last: int) -> str:
    """`delayed` while this process cannot hear the other processes (Redis away), `live` when it
    can again; it carries the stream's last event id, so a reconnect resumes at the right place."""
    return format_event({"type": "connection", "id": last, "data": {"state": state}})


def _in_order(ahead, last, texts) -> int:
    """Move the messages that now follow `last` without a gap from `ahead` to `texts`."""
    while last + 1 in ahead:
        last += 1
        texts.append(shared_text(ahead.pop(last)))
    for seen in [n for n in ahead if n <= last]:
        del ahead[seen]
    return last


def shared_text(message: dict) -> str:
    """The SSE text of a published message or a shared state message. The broker hands
    the same dict to every stream of the room in this process (and _room_state the same
    state to a crowd), so it is formatted once, not once per viewer."""
    text = message.get(_TEXT)
    if text is None:
        text = message[_TEXT] = format_event(message)
    return text


_viewer_texts: dict[tuple[int, int, int], str] = {}


def _viewers(broker, show_id, last) -> str:
    """The room's open streams, in every process when rooms fan out through Redis
    (the id repeats the last event's: a count is not an event to resume from). Every
    stream sends it every few seconds, so the text is formatted once per count, and
    the count is the room's peak when it is the highest yet."""
    count = broker.count(channel(show_id))
    app = current_app._get_current_object()
    audience(app).seen(show_id, count)
    text = _viewer_texts.get((show_id, last, count))
    if text is None:
        if len(_viewer_texts) > 1000:
            _viewer_texts.clear()
        text = _viewer_texts[(show_id, last, count)] = format_event(
            {"id": last, "type": "viewers", "data": {"count": count}})
    return text
