"""The ledger benchmark on SQLite: the twin tables, the reads around the rounds, and the
yardsticks, on the SQLite file the run copied from its seeded PostgreSQL source
(bench/sqlite_copy.py).

SQLite has no COPY and no arrays, so the yardsticks are SQLite's own fastest plain
bulk inserts of the very rows the real path just wrote, each in ONE transaction
(the real path commits once per batch):

- `executemany`: the rows (read back, untimed) sent through the sqlite3 driver's
  executemany of one prepared INSERT, the tightest loop a Python client has;
- `INSERT … SELECT`: the engine copying the rows from ledger_entries itself, no
  client at all.

Both run on a connection set up like the app's (WAL, foreign keys on, the default
synchronous), into twins of ledger_entries with the same columns, indexes, unique
and foreign-key constraints, and without the append-only triggers, as on PostgreSQL.
"""
import re
import sqlite3
import time
from contextlib import closing

from .ledger_rounds import CHECK_ACCRUED, CHECK_OVER, COLUMNS, check_counts
from .ledger_seed import BARE_TABLES
from .sqlite_copy import sqlite_path

#: how the yardsticks are named in the figures (the keys are the result slots the report reads)
LABELS = {"copy": "bare executemany", "insert": "bare INSERT … SELECT"}


def connect(url) -> sqlite3.Connection:
    """A connection set up as marketplace/core/db.py sets up the app's, in autocommit
    mode so each measurement states its own BEGIN and COMMIT."""
    conn = sqlite3.connect(sqlite_path(url), isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA busy_timeout=30000")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


def make_twins(url) -> None:
    """(Re)create the twin tables from ledger_entries' own DDL in the file: the table
    (constraints renamed with it) and its indexes; not its triggers."""
    with closing(connect(url)) as conn:
        ddl = conn.execute("SELECT type, name, sql FROM sqlite_master WHERE tbl_name = 'ledger_entries' "
                           "AND type IN ('table', 'index') AND sql IS NOT NULL ORDER BY type = 'index'").fetchall()
        for twin in BARE_TABLES:
            conn.execute(f'DROP TABLE IF EXISTS "{twin}"')
            for kind, name, text in ddl:
                text = re.sub(r"\bledger_entries\b", twin, text)
                if kind == "index":  # index names are global in SQLite: prefix them with the twin's
                    text = re.sub(rf'INDEX\s+"?{re.escape(name)}"?', f'INDEX "{twin}_{name}"', text, count=1)
                conn.execute(text)


def reset_ledger(url) -> int:
    """An empty ledger, as a fresh copy of a just-seeded database has: ledger_entries and
    ledger_head dropped and recreated from their own DDL in the file (table, indexes, the
    append-only triggers), never by lifting the triggers. A reused source still holds the
    ledger its PostgreSQL run accrued, and so does a kept copy. Returns the entries dropped."""
    with closing(connect(url)) as conn:
        dropped = conn.execute("SELECT count(*) FROM ledger_entries").fetchone()[0]
        for table in ("ledger_entries", "ledger_head"):  # nothing refers to either
            ddl = conn.execute("SELECT sql FROM sqlite_master WHERE tbl_name = ? AND sql IS NOT NULL "
                               "ORDER BY type != 'table'", (table,)).fetchall()
            conn.execute("BEGIN")
            conn.execute(f"DROP TABLE {table}")
            for (text,) in ddl:
                conn.execute(text)
            conn.execute("COMMIT")
    return dropped


def order_id_range(url) -> tuple[int, int]:
    with closing(connect(url)) as conn:
        return conn.execute("SELECT min(id), max(id) FROM orders").fetchone()


def ledger_count(url) -> int:
    with closing(connect(url)) as conn:
        return conn.execute("SELECT coalesce(max(seq), 0) FROM ledger_entries").fetchone()[0]


def ledger_rows(url, first_seq, last_seq) -> list[tuple]:
    """The rows the real path wrote, as stored (untimed: input for the executemany yardstick)."""
    with closing(connect(url)) as conn:
        return conn.execute(f"SELECT {', '.join(COLUMNS)} FROM ledger_entries WHERE seq BETWEEN ? AND ? "
                            "ORDER BY seq", (first_seq, last_seq)).fetchall()


def bare_executemany(url, rows, first_seq, last_seq, per_txn) -> float:
    """Insert the rows into the first twin by one executemany, one transaction. Seconds."""
    stmt = f"INSERT INTO {BARE_TABLES[0]} ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
    with closing(connect(url)) as conn:
        started = time.perf_counter()
        conn.execute("BEGIN")
        conn.executemany(stmt, rows)
        conn.execute("COMMIT")
        return time.perf_counter() - started


def bare_insert_select(url, rows, first_seq, last_seq, per_txn) -> float:
    """Copy the same rows from ledger_entries into the second twin inside the engine, one
    transaction. Seconds."""
    columns = ", ".join(COLUMNS)
    with closing(connect(url)) as conn:
        started = time.perf_counter()
        conn.execute("BEGIN")
        conn.execute(f"INSERT INTO {BARE_TABLES[1]} ({columns}) SELECT {columns} FROM ledger_entries "
                     "WHERE seq BETWEEN ? AND ? ORDER BY seq", (first_seq, last_seq))
        conn.execute("COMMIT")
        return time.perf_counter() - started


YARDSTICKS = {"copy": bare_executemany, "insert": bare_insert_select}


def check_result(url, lines) -> list[str]:
    with closing(connect(url)) as conn:
        accrued = conn.execute(CHECK_ACCRUED).fetchone()[0]
        over = conn.execute(CHECK_OVER).fetchone()[0]
    return check_counts(accrued, over, lines)
