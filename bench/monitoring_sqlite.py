"""The monitoring benchmark on SQLite: its yardsticks sent with sqlite3, the data copied
from the PostgreSQL source, and a check that both databases give the same answers.

The yardsticks (SCAN_SQL, RECONCILE_SQL in bench/monitoring_rounds.py) are plain SQL that
SQLite runs as written: LEFT JOINs to GROUP BY subqueries, `sum(...) FILTER (WHERE ...)`
(SQLite >= 3.30), coalesce. Only the placeholders differ (psycopg's %(name)s, sqlite3's
:name) and the values bound: SQLite has no timestamp type, so the app's UTCDateTime
columns hold UTC text ('YYYY-MM-DD HH:MM:SS.ffffff', SQLAlchemy's SQLite format) and a
moment is compared as that text, which orders as time does; a date is 'YYYY-MM-DD'.
"""
import functools
import os
import re
import sqlite3
from datetime import date, datetime, timezone

from . import sqlite_copy

#: how SQLAlchemy's SQLite DATETIME writes a moment; UTCDateTime converts it to UTC first
STORED = "%Y-%m-%d %H:%M:%S.%f"


@functools.cache
def translate(sql: str) -> str:
    """psycopg's placeholders as sqlite3's: %(name)s -> :name, %s -> ?."""
    return re.sub(r"%\((\w+)\)s", r":\1", sql).replace("%s", "?")


def bind(value):
    """A parameter as the app's columns hold it on SQLite."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime given; the app stores aware UTC moments")
        return value.astimezone(timezone.utc).strftime(STORED)
    if isinstance(value, date):
        return value.isoformat()
    return value


class Connection:
    """A sqlite3 connection that takes the yardsticks' SQL and parameters as psycopg does
    (`with connect(url) as conn: conn.execute(SQL, params).fetchall()`)."""

    def __init__(self, url: str):
        # DATE columns come back as dates, as psycopg returns them (the scan's rules need them);
        # Python's own "date" converter is deprecated, hence ours (only connections that ask use it)
        sqlite3.register_converter("DATE", lambda text: date.fromisoformat(text.decode()))
        # autocommit: the yardsticks only read, and no transaction stays open between rounds
        self._conn = sqlite3.connect(sqlite_copy.sqlite_path(url), isolation_level=None,
                                     detect_types=sqlite3.PARSE_DECLTYPES)

    def execute(self, sql: str, params=()):
        if isinstance(params, dict):
            params = {k: bind(v) for k, v in params.items()}
        else:
            params = [bind(v) for v in params]
        return self._conn.execute(translate(sql), params)

    def close(self):
        self._conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def analyze(url: str) -> None:
    """Fresh statistics for the planner (what VACUUM ANALYZE gives the PostgreSQL run)."""
    with Connection(url) as conn:
        conn.execute("ANALYZE")


def file_size(url: str) -> str:
    size = sum(os.path.getsize(sqlite_copy.sqlite_path(url) + s) for s in ("", "-wal")
               if os.path.exists(sqlite_copy.sqlite_path(url) + s))
    return f"{size / 1024 / 1024:.0f} MB"


def _comparable(row) -> tuple:
    return tuple(v.isoformat() if isinstance(v, date) else str(v) if isinstance(v, str) else int(v) for v in row)


def same_answers(source, copy, scan_sql, scan_params, reconcile_sql, reconcile_params) -> tuple[list[str], int]:
    """The yardsticks' answers on the PostgreSQL source against those on the SQLite copy
    (outside the timings): the same households with the same sums, the same figures. A
    difference means the copy or a date boundary (UTC against Asia/Shanghai) went wrong.
    Returns (problems, rows compared)."""
    problems = []
    theirs, ours = ([_comparable(r) for r in c.execute(scan_sql, scan_params).fetchall()] for c in (source, copy))
    theirs, ours = sorted(theirs), sorted(ours)
    rows = len(ours)
    if theirs != ours:
        differ = sum(a != b for a, b in zip(theirs, ours)) + abs(len(theirs) - len(ours))
        problems.append(f"the scan's yardstick differs between PostgreSQL and SQLite in {differ} of "
                        f"{len(theirs)} rows")
    theirs, ours = (_comparable(c.execute(reconcile_sql, reconcile_params).fetchone()) for c in (source, copy))
    if theirs != ours:
        problems.append(f"the reconciliation's yardstick gives {theirs} on PostgreSQL, {ours} on SQLite")
    return problems, rows
