"""Column types and helpers shared by every domain's models."""
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


def configure_sqlite(engine) -> None:
    """SQLite as a multi-threaded server database: WAL so readers never wait,
    a busy timeout, foreign keys on, and BEGIN IMMEDIATE for requests that change
    things (POST, PUT, PATCH, DELETE), so a transaction that reads and then writes
    (a checkout) waits its turn instead of failing with "database is locked" when
    another writer got there first. Page views and event streams begin deferred
    and never hold the write lock."""
    from flask import has_request_context, request
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        writes = has_request_context() and request.method not in ("GET", "HEAD", "OPTIONS")
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")


def str_enum(enum_class, length: int = 24):
    """A Python enum stored as its string value (VARCHAR), the same on SQLite and PostgreSQL."""
    from sqlalchemy import Enum

    return Enum(enum_class, native_enum=False, length=length)
