"""What bench/run_monitoring.py times: the application's real functions in-process (the
scan `flask monitoring scan` runs, the reconciliation the audit page shows) and, beside
them, the single hand-written SQL aggregate query over the same rows, sent with psycopg
(with sqlite3 on SQLite: bench/monitoring_sqlite.py).

Every subject run leaves the database as it found it: the scan's cases and audit
records are rolled back after each run (so every run opens the same cases: the whole
work, not a rerun that finds them open), and the "never verified" reconciliation hides
the recorded verification inside a transaction that is rolled back.
"""
import os
import time
from datetime import date, timedelta

import psycopg
from sqlalchemy import delete, func, select

from marketplace.core.audit import AuditRecord
from marketplace.monitoring import chain

from . import monitoring_sqlite, sqlite_copy
from .machine import CpuMeter
from .monitoring_seed import SCAN_DAY
from .seed import libpq_url

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PERIOD = (SCAN_DAY - timedelta(days=364), SCAN_DAY)  #: the reconciled period: the big cooperative's sales

#: The scan's baseline: every household still in the programme with the sums the rules
#: need (12 months, last 3, the 3 before, spending) and whether a risk event is recent.
SCAN_SQL = """
SELECT h.id, h.members, h.enrolled_at,
       coalesce(l.income, 0) + coalesce(r.income, 0), coalesce(l.last3, 0) + coalesce(r.last3, 0),
       coalesce(l.prev3, 0) + coalesce(r.prev3, 0), coalesce(r.spending, 0), k.household_id IS NOT NULL
FROM households h
LEFT JOIN (SELECT household_id, sum(amount_fen) AS income,
                  sum(amount_fen) FILTER (WHERE created_at >= %(last3_at)s) AS last3,
                  sum(amount_fen) FILTER (WHERE created_at >= %(prev3_at)s AND created_at < %(last3_at)s) AS prev3
           FROM ledger_entries
           WHERE kind IN ('accrual', 'reversal') AND created_at >= %(first_at)s AND created_at < %(end_at)s
           GROUP BY household_id) l ON l.household_id = h.id
LEFT JOIN (SELECT household_id, sum(amount_fen) FILTER (WHERE kind = 'income') AS income,
                  sum(amount_fen) FILTER (WHERE kind = 'income' AND month >= %(last3)s) AS last3,
                  sum(amount_fen) FILTER (WHERE kind = 'income' AND month >= %(prev3)s AND month < %(last3)s) AS prev3,
                  sum(amount_fen) FILTER (WHERE kind = 'spending') AS spending
           FROM income_records WHERE month >= %(first)s AND month <= %(this)s
           GROUP BY household_id) r ON r.household_id = h.id
LEFT JOIN (SELECT DISTINCT household_id FROM risk_events WHERE occurred_on >= %(risk_from)s AND occurred_on <= %(today)s)
       k ON k.household_id = h.id
WHERE h.status <> 'exited'
"""

#: The reconciliation's baseline: the period's figures of one cooperative.
RECONCILE_SQL = """
SELECT
  (SELECT coalesce(sum(l.line_total_fen), 0) FROM order_lines l JOIN orders o ON o.id = l.order_id
    WHERE o.cooperative_id = %(coop)s AND o.paid_at >= %(lo)s AND o.paid_at < %(hi)s) AS paid,
  (SELECT coalesce(sum(r.amount_fen), 0) FROM refunds r JOIN orders o ON o.id = r.order_id
    WHERE o.cooperative_id = %(coop)s AND r.created_at >= %(lo)s AND r.created_at < %(hi)s) AS refunded,
  coalesce(sum(e.amount_fen) FILTER (WHERE e.created_at >= %(lo)s AND e.kind IN ('accrual', 'reversal')), 0),
  coalesce(sum(e.absorbed_fen) FILTER (WHERE e.created_at >= %(lo)s AND e.kind = 'reversal'), 0),
  coalesce(-sum(e.amount_fen) FILTER (WHERE e.created_at >= %(lo)s AND e.kind = 'payout'), 0),
  coalesce(sum(e.amount_fen), 0)
FROM ledger_entries e WHERE e.cooperative_id = %(coop)s AND e.created_at < %(hi)s
"""
RECONCILE_FIGURES = ("paid_fen", "refunded_fen", "allocated_fen", "absorbed_fen", "paid_out_fen", "owed_fen")


def make_app(url):
    from marketplace import create_app

    return create_app("production", SECRET_KEY="bench", SQLALCHEMY_DATABASE_URI=url,
                      UPLOAD_FOLDER=os.path.join(ROOT, "instance", "bench-uploads"))


def timed(url, fn, *args):
    """(result, seconds, others' CPU share) of fn(*args)."""
    with CpuMeter(url) as meter:
        started = time.perf_counter()
        result = fn(*args)
        seconds = time.perf_counter() - started
    return result, seconds, meter.others


# --- the scan ----------------------------------------------------------------------------

def scan_params(today: date = SCAN_DAY) -> dict:
    from marketplace.monitoring.scan import RISK_EVENT_DAYS, Window, _local_midnight

    w = Window(today)
    return {"first_at": _local_midnight(w.first), "last3_at": _local_midnight(w.last3),
            "prev3_at": _local_midnight(w.prev3), "end_at": _local_midnight(today + timedelta(days=1)),
            "first": w.first, "last3": w.last3, "prev3": w.prev3, "this": w.this_month,
            "risk_from": today - timedelta(days=RISK_EVENT_DAYS), "today": today}


def scan_baseline(conn, params) -> list:
    return conn.execute(SCAN_SQL, params).fetchall()


def scan_subject(app, today: date = SCAN_DAY) -> dict:
    """run_scan() as `flask monitoring scan` runs it, flushed to the database; "seconds" is
    that time. Then rolled back (not timed), so the next run opens the same cases again."""
    from marketplace.extensions import db
    from marketplace.monitoring.scan import run_scan

    with app.app_context():
        try:
            started = time.perf_counter()
            result = run_scan(today)
            db.session.flush()
            result["seconds"] = time.perf_counter() - started
        finally:
            db.session.rollback()
            db.session.remove()
    return result


def line_fen(conn, today: date = SCAN_DAY) -> int | None:
    row = conn.execute("SELECT yuan_per_person FROM monitoring_lines WHERE year = %s", (today.year,)).fetchone()
    return row[0] * 100 if row else None


def hits_by_the_rules(rows, line_fen, drop_pct, today: date = SCAN_DAY) -> int:
    """How many households of the baseline's rows the scan's rules flag (a cross-check)."""
    from marketplace.monitoring.scan import Figures, Window, evaluate

    w = Window(today)
    return sum(bool(evaluate(m, e, Figures(*map(int, sums)), line_fen, risky, w, drop_pct))
               for _, m, e, *sums, risky in rows)


# --- the reconciliation ----------------------------------------------------------------------

def reconcile_params(coop_id, period=PERIOD) -> dict:
    from marketplace.monitoring.reconciliation import _bounds

    lo, hi = _bounds(*period)
    return {"coop": coop_id, "lo": lo, "hi": hi}


def reconcile_baseline(conn, params) -> dict:
    return dict(zip(RECONCILE_FIGURES, conn.execute(RECONCILE_SQL, params).fetchone()))


def reconcile_subject(app, coop_id, never_verified=False) -> dict:
    """reconciliation.reconcile() as the audit page calls it. never_verified: as if the
    chain had never been verified as a whole (the recorded verification is hidden in a
    transaction that is rolled back), so every entry of the period is hashed now."""
    from marketplace.extensions import db
    from marketplace.monitoring import reconciliation

    with app.app_context():
        try:
            if never_verified:
                db.session.execute(delete(AuditRecord).where(AuditRecord.action == chain.VERIFY_ACTION))
            started = time.perf_counter()
            result = reconciliation.reconcile(coop_id, *PERIOD)
            result["seconds"] = time.perf_counter() - started
        finally:
            db.session.rollback()
            db.session.remove()
    return result


def record_verification(app) -> dict:
    """The nightly job's work: verify the whole chain, record the result (committed)."""
    from marketplace.extensions import db
    from marketplace.monitoring.chain import record_full_verification

    with app.app_context():
        started = time.perf_counter()
        result = record_full_verification()
        db.session.commit()
        result["seconds"] = time.perf_counter() - started
        result["audit_id"] = db.session.scalar(select(func.max(AuditRecord.id))
                                               .where(AuditRecord.action == chain.VERIFY_ACTION))
        db.session.remove()
    return result


def forget_verification(app, audit_id) -> None:
    """Delete the verification record_verification() wrote, so the run leaves the database
    as it found it (and a SQLite copy kept by --reuse-data still matches its source)."""
    from marketplace.extensions import db

    with app.app_context():
        db.session.execute(delete(AuditRecord).where(AuditRecord.id == audit_id))
        db.session.commit()
        db.session.remove()


def connect(url):
    if sqlite_copy.is_sqlite(url):
        return monitoring_sqlite.Connection(url)
    return psycopg.connect(libpq_url(url))


def vacuum(url):
    if sqlite_copy.is_sqlite(url):
        return monitoring_sqlite.analyze(url)
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
