"""Who watches a room, recorded cheaply: distinct viewers (the report's unique
viewers and conversion) and the peak of concurrent viewers.

A crowd joins a room in seconds (the show starts, a server restarts and everyone
reconnects), so nothing here writes once per viewer. Each process buffers what it
saw and writes it in batches: the distinct viewers' keys at most every RECORD_EVERY
seconds (one multi-row INSERT that skips keys already stored), the peak at most every
PEAK_EVERY seconds per room (one guarded UPDATE that only raises it). What is still
buffered is written by the next join, by the streams' viewer-count ticks (every few
seconds while anyone watches) or when a stream closes, so the figures lag by seconds.

The writes go through a connection, past the ORM's hooks: a viewer is no storefront
change (catalog/changes.py would empty the page cache at every new peak).
A lost write (a busy database, a killed process) loses a few seconds of counting,
never the stream.
"""
import logging
import threading
import time

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ..core.db import utcnow
from ..extensions import db
from .models import Show, ShowStatus, ShowViewer

log = logging.getLogger("marketplace.livestream")

RECORD_EVERY = 1.0  #: seconds between this process's writes of new distinct viewers
PEAK_EVERY = 5.0  #: seconds between this process's writes of one room's peak
BATCH = 500  #: distinct viewers buffered before a write is due anyway


class Audience:
    """One per app (app.extensions["live_audience"]); safe for greenlets and threads:
    the lock guards only the buffers, never a database call."""

    def __init__(self):
        self._lock = threading.Lock()
        self._keys: set[tuple[int, str]] = set()  # (show_id, viewer_key) not written yet
        self._keys_written_at = 0.0
        self._peaks: dict[int, list] = {}  # show_id -> [highest seen, highest written, written at]

    # --- what the streams tell ---------------------------------------------------------

    def joined(self, show_id: int, viewer_key: str, count: int) -> None:
        """A viewer opened the room's stream; `count` viewers watch it now."""
        with self._lock:
            self._keys.add((show_id, viewer_key))
        self.seen(show_id, count)

    def seen(self, show_id: int, count: int) -> None:
        with self._lock:
            peak = self._peaks.setdefault(show_id, [0, 0, 0.0])
            peak[0] = max(peak[0], count)

    def due(self, force: bool = False) -> bool:
        """Is anything buffered that should be written now? (cheap: no database)"""
        now = time.monotonic()
        with self._lock:
            keys_due = bool(self._keys) and (force or len(self._keys) >= BATCH
                                             or now - self._keys_written_at >= RECORD_EVERY)
            return keys_due or any(seen > written and (force or now - at >= PEAK_EVERY)
                                   for seen, written, at in self._peaks.values())

    # --- writing ---------------------------------------------------------------------------

    def write(self, force: bool = False) -> None:
        """Write what is due (everything buffered when `force`), in an app context."""
        keys, peaks = self._take(force)
        if keys:
            self._run(lambda: _insert_viewers(keys), "the distinct viewers")
        for show_id, count in peaks:
            try:
                raise_peak(show_id, count)
            except Exception:  # noqa: BLE001 - counting is best effort; the room goes on
                log.warning("could not record the peak viewers of show %s", show_id, exc_info=True)

    def _take(self, force):
        now = time.monotonic()
        with self._lock:
            keys = []
            if self._keys and (force or len(self._keys) >= BATCH or now - self._keys_written_at >= RECORD_EVERY):
                keys, self._keys, self._keys_written_at = list(self._keys), set(), now
            peaks = []
            for show_id, peak in list(self._peaks.items()):
                seen, written, at = peak
                if seen > written and (force or now - at >= PEAK_EVERY):
                    peak[1], peak[2] = seen, now
                    peaks.append((show_id, seen))
                elif seen <= written and now - at > 3600:  # a room nobody joined for an hour
                    del self._peaks[show_id]
            return keys, peaks

    @staticmethod
    def _run(work, what):
        try:
            work()
            db.session.commit()
        except Exception:  # noqa: BLE001 - counting is best effort; the room goes on
            log.warning("could not record %s", what, exc_info=True)
            db.session.rollback()


def audience(app) -> Audience:
    found = app.extensions.get("live_audience")
    if found is None:
        found = app.extensions.setdefault("live_audience", Audience())
    return found


def _insert_viewers(keys: list[tuple[int, str]]) -> None:
    """One INSERT of every new distinct viewer; the unique key skips those already stored
    (two processes, or two tabs of one viewer, racing are fine)."""
    conn = db.session.connection()
    insert = {"postgresql": pg_insert, "sqlite": sqlite_insert}.get(conn.dialect.name)
    now = utcnow()
    rows = [{"show_id": show_id, "viewer_key": key, "first_seen_at": now} for show_id, key in sorted(keys)]
    table = ShowViewer.__table__
    if insert is not None:
        conn.execute(insert(table).on_conflict_do_nothing(index_elements=["show_id", "viewer_key"]), rows)
        return
    for row in rows:  # another database: look first (a race may still add a duplicate error, caught above)
        if conn.scalar(select(table.c.id).where(table.c.show_id == row["show_id"],
                                                table.c.viewer_key == row["viewer_key"])) is None:
            conn.execute(table.insert(), row)


def raise_peak(show_id: int, count: int) -> None:
    """Raise the show's peak viewers to `count` if that is higher, while it is scheduled
    or live: one guarded UPDATE that commits by itself (autocommit). The show's row is
    also where the room's events are numbered (events.py), so its lock is held for that
    one statement only: a transaction left open between UPDATE and COMMIT would hold it
    while a gevent worker fans a pin out to a thousand streams, and the host's next pin
    would wait for it."""
    shows = Show.__table__
    statement = (update(shows).where(shows.c.id == show_id, shows.c.peak_viewers < count,
                                     shows.c.status.in_([ShowStatus.scheduled, ShowStatus.live]))
                 .values(peak_viewers=count))
    if db.engine.dialect.name != "postgresql":  # SQLite (one writer at a time anyway): the session's
        db.session.connection().execute(statement)  # connection, or a second one would wait for its lock
        db.session.commit()
        return
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(statement)
