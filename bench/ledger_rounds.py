"""The measurements of the ledger benchmark: the real accrual path on a slice of the
paid orders, then the same number of ledger rows bulk-inserted bare, then (at the
end) `flask ledger verify` over everything the real path appended.

The real path is `marketplace.households.accrual.accrue_orders`, the function the
payment event calls, given `batch` paid orders at a time (their links looked up
in one query, the chain head locked once, the entries hashed in Python and
written by INSERT ... SELECT FROM unnest(array literals)) and committed per batch. Loading the orders
(the payment path already has its order in hand) is timed apart and reported,
not counted.

The baseline writes, bare, exactly the rows the real path just wrote (read back
from ledger_entries, untimed) into twin tables with the same indexes and
constraints: once by COPY and once by the multi-row INSERT statement the real
path sends (INSERT ... SELECT FROM unnest(array literals)), each committed in transactions of the same number of
rows as a real batch produced.
"""
import os
import subprocess
import sys
import time

import psycopg
from psycopg import sql

from marketplace.households.ledger_pg import array_literal

from .ledger_seed import BARE_TABLES
from .machine import CpuMeter
from .seed import libpq_url

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: the ledger columns the application writes (all but the id, which a sequence gives)
COLUMNS = ("seq", "kind", "household_id", "cooperative_id", "amount_fen", "order_line_id", "link_id", "rate_bp",
           "fixed_fen_per_unit", "refund_id", "absorbed_fen", "payout_id", "created_at", "prev_hash", "hash")


def make_app(url):
    from marketplace import create_app

    return create_app("production", SECRET_KEY="bench", SQLALCHEMY_DATABASE_URI=url,
                      UPLOAD_FOLDER=os.path.join(ROOT, "instance", "bench-uploads"))


def order_id_range(url) -> tuple[int, int]:
    with psycopg.connect(libpq_url(url)) as conn:
        return conn.execute("SELECT min(id), max(id) FROM orders").fetchone()


def accrue(app, first_id, last_id, batch) -> dict:
    """Accrue orders first_id..last_id through the application, `batch` orders per call
    and transaction. Returns lines, rows, seconds (accrual + commit) and load seconds."""
    from sqlalchemy import select
    from sqlalchemy.orm import lazyload, noload, selectinload

    from marketplace.extensions import db
    from marketplace.households.accrual import accrue_orders
    from marketplace.orders.models import Order

    out = {"lines": 0, "rows": 0, "seconds": 0.0, "load_seconds": 0.0, "batches": 0}
    with app.app_context():
        for start in range(first_id, last_id + 1, batch):
            t0 = time.perf_counter()
            orders = db.session.scalars(
                select(Order).where(Order.id >= start, Order.id < min(start + batch, last_id + 1))
                .order_by(Order.id).options(lazyload(Order.checkout), lazyload(Order.cooperative),
                                            noload(Order.events), selectinload(Order.lines))).all()
            paid = [(order, list(order.lines)) for order in orders]
            t1 = time.perf_counter()
            out["rows"] += accrue_orders(paid)
            db.session.commit()
            t2 = time.perf_counter()
            db.session.expunge_all()
            out["lines"] += sum(len(lines) for _, lines in paid)
            out["seconds"] += t2 - t1
            out["load_seconds"] += t1 - t0
            out["batches"] += 1
        db.session.remove()
    return out


def ledger_rows(url, first_seq, last_seq) -> list[tuple]:
    """The rows the real path wrote, as tuples of COLUMNS (untimed: input for the baseline)."""
    with psycopg.connect(libpq_url(url)) as conn:
        query = sql.SQL("SELECT {} FROM ledger_entries WHERE seq BETWEEN %s AND %s ORDER BY seq").format(
            sql.SQL(", ").join(map(sql.Identifier, COLUMNS)))
        return conn.execute(query, (first_seq, last_seq)).fetchall()


def ledger_count(url) -> int:
    with psycopg.connect(libpq_url(url)) as conn:
        return conn.execute("SELECT coalesce(max(seq), 0) FROM ledger_entries").fetchone()[0]


def bare_copy(url, rows, per_txn) -> float:
    """COPY the rows into the COPY twin, `per_txn` rows per transaction. Seconds."""
    stmt = sql.SQL("COPY {} ({}) FROM STDIN").format(sql.Identifier(BARE_TABLES[0]),
                                                     sql.SQL(", ").join(map(sql.Identifier, COLUMNS)))
    with psycopg.connect(libpq_url(url)) as conn, conn.cursor() as cur:
        started = time.perf_counter()
        for start in range(0, len(rows), per_txn):
            with cur.copy(stmt) as copy:
                for row in rows[start:start + per_txn]:
                    copy.write_row(row)
            conn.commit()
        return time.perf_counter() - started


def _column_types(conn) -> dict:
    return dict(conn.execute("SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
                             "WHERE attrelid = 'ledger_entries'::regclass AND attnum > 0 AND NOT attisdropped"))


def bare_insert(url, rows, per_txn, per_statement) -> float:
    """The INSERT twin filled by the statement the application sends (INSERT ... SELECT
    FROM unnest(one array per column), `per_statement` rows each), `per_txn` rows per
    transaction: the real path's writes, minus everything but the writes. Seconds."""
    with psycopg.connect(libpq_url(url)) as conn, conn.cursor() as cur:
        types = _column_types(conn)
        stmt = sql.SQL("INSERT INTO {} ({}) SELECT * FROM unnest({})").format(
            sql.Identifier(BARE_TABLES[1]), sql.SQL(", ").join(map(sql.Identifier, COLUMNS)),
            sql.SQL(", ").join(sql.SQL("%s::text::{}[]").format(sql.SQL(types[c])) for c in COLUMNS))
        started = time.perf_counter()
        for start in range(0, len(rows), per_txn):
            txn = rows[start:start + per_txn]
            for at in range(0, len(txn), per_statement):
                cur.execute(stmt, [array_literal(column) for column in zip(*txn[at:at + per_statement])])
            conn.commit()
        return time.perf_counter() - started


#: how the yardsticks are named in the figures (the keys are the result slots the report reads)
LABELS = {"copy": "bare COPY", "insert": "bare INSERT … unnest"}
#: each yardstick as fn(url, rows, first_seq, last_seq, per_txn) -> seconds (bench/ledger_sqlite.py alike)
YARDSTICKS = {"copy": lambda url, rows, _first, _last, per_txn: bare_copy(url, rows, per_txn),
              "insert": lambda url, rows, _first, _last, per_txn: bare_insert(url, rows, per_txn, _insert_rows())}


def _insert_rows():
    from marketplace.households.ledger import INSERT_ROWS

    return INSERT_ROWS


def timed(url, fn, *args):
    """(result, others' CPU share) of fn(*args), with the machine's other load metered."""
    with CpuMeter(url) as meter:
        result = fn(*args)
    return result, meter.others


def verify_in_process(app) -> tuple[dict, float]:
    from marketplace.households.ledger import verify

    with app.app_context():
        started = time.perf_counter()
        result = verify()
        seconds = time.perf_counter() - started
        from marketplace.extensions import db

        db.session.remove()
    return result, seconds


def verify_command(url, *args) -> tuple[str, int, float]:
    """`flask --app wsgi ledger verify` as a process: (its output, exit code, wall seconds).
    With args "--help" instead of verify: the same start-up (the app is built to find the
    command), no checking."""
    env = {**os.environ, "MARKETPLACE_CONFIG": "production", "SECRET_KEY": "bench", "DATABASE_URL": url}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "ledger", *(args or ("verify",))],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=3600)
    return (done.stdout + done.stderr).strip(), done.returncode, time.perf_counter() - started


CHECK_ACCRUED = "SELECT count(DISTINCT order_line_id) FROM ledger_entries"
CHECK_OVER = ("SELECT count(*) FROM (SELECT l.id FROM order_lines l JOIN ledger_entries e ON e.order_line_id = l.id "
              "GROUP BY l.id, l.line_total_fen HAVING sum(e.amount_fen) > l.line_total_fen "
              "OR min(e.amount_fen) <= 0) x")


def check_result(url, lines) -> list[str]:
    """What must hold after the run: every line accrued, no line over-accrued."""
    with psycopg.connect(libpq_url(url)) as conn:
        accrued_lines = conn.execute(CHECK_ACCRUED).fetchone()[0]
        over = conn.execute(CHECK_OVER).fetchone()[0]
    return check_counts(accrued_lines, over, lines)


def check_counts(accrued_lines, over, lines) -> list[str]:
    problems = []
    if accrued_lines != lines:
        problems.append(f"{accrued_lines:,} of {lines:,} lines have accruals")
    if over:
        problems.append(f"{over} lines accrued more than their total or a non-positive amount")
    return problems
