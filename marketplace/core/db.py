"""Column types and helpers shared by every domain's models."""
import sqlite3
import sys
import time
from datetime import datetime, timezone

from sqlalchemy import DateTime, types


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(types.TypeDecorator):
    """A timestamp stored in UTC and always returned timezone-aware.

    SQLite has no time zones; without this, values read back naive and compare
    wrongly with aware ones.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use an aware UTC datetime")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


#: how long a statement waits for SQLite's write lock before "database is locked"
BUSY_SECONDS = 30.0
SQLITE_BUSY = 5  # the plain code: SQLite would call its busy handler (not BUSY_SNAPSHOT & co.)


def _gevent_patched() -> bool:
    """Is this a gevent worker (time.sleep switches greenlets)?"""
    monkey = sys.modules.get("gevent.monkey")
    return bool(monkey and monkey.is_module_patched("time"))


def _waiting_cooperatively(run):
    """Run a statement, and while SQLite answers SQLITE_BUSY (another process holds the
    write lock) try again after a sleep that lets the worker's other greenlets run,
    until BUSY_SECONDS have passed. SQLite's own busy_timeout sleeps inside the C
    library, which in a gevent worker stops every stream of the process for as long
    as another process writes (a flash sale's checkouts). A statement that got
    SQLITE_BUSY changed nothing, so running it again is safe."""
    deadline, pause = time.monotonic() + BUSY_SECONDS, 0.001
    while True:
        try:
            return run()
        except sqlite3.OperationalError as err:
            if getattr(err, "sqlite_errorcode", None) != SQLITE_BUSY or time.monotonic() >= deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.05)


def configure_sqlite(engine) -> None:
    """SQLite as a multi-threaded server database: WAL so readers never wait,
    a busy timeout, foreign keys on, and BEGIN IMMEDIATE for requests that change
    things (POST, PUT, PATCH, DELETE), so a transaction that reads and then writes
    (a checkout) waits its turn instead of failing with "database is locked" when
    another writer got there first. Page views and event streams begin deferred
    and never hold the write lock. In a gevent worker the waiting for the lock is
    done in Python (_waiting_cooperatively), so one stream's write never freezes the others."""
    from flask import has_request_context, request
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={0 if _gevent_patched() else int(BUSY_SECONDS * 1000)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        writes = has_request_context() and request.method not in ("GET", "HEAD", "OPTIONS")
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")

    @event.listens_for(engine, "do_execute")
    def _execute(cursor, statement, parameters, _context):
        if _gevent_patched():
            _waiting_cooperatively(lambda: cursor.execute(statement, parameters))
            return True  # done: SQLAlchemy does not execute it again
        return None

    @event.listens_for(engine, "do_execute_no_params")
    def _execute_no_params(cursor, statement, _context):
        if _gevent_patched():
            _waiting_cooperatively(lambda: cursor.execute(statement))
            return True
        return None

    @event.listens_for(engine, "do_executemany")
    def _executemany(cursor, statement, parameters, _context):
        if _gevent_patched():
            _waiting_cooperatively(lambda: cursor.executemany(statement, parameters))
            return True
        return None


def str_enum(enum_class, length: int = 24):
    """A Python enum stored as its string value (VARCHAR), the same on SQLite and PostgreSQL."""
    from sqlalchemy import Enum

    return Enum(enum_class, native_enum=False, length=length)


def without_transaction(session) -> bool:
    """Run the session's first transaction in autocommit, on PostgreSQL: call before the
    request's first query. Its statements then need no BEGIN, and no ROLLBACK when the
    request ends: a round trip fewer, which on the one-statement product page was a
    third of the time the worker waited on the database. What the statements read is
    unchanged: under READ COMMITTED each statement of a transaction takes its own
    snapshot anyway. Only for requests whose statements are reads (a member's user and
    membership are read in autocommit too), or one write that stands alone
    (orders.placing). Nothing changes once the session is in a transaction, or on
    SQLite, whose transactions cost no round trip. The session's next transaction is a
    normal one: the pool resets the isolation level when the session gives the connection
    back."""
    if session.in_transaction() or session.get_bind().dialect.name != "postgresql":
        return False
    session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    return True
