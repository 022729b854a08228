"""The monitoring benchmark's yardsticks (bench/monitoring_rounds.py: hand-written SQL, sent with
psycopg on PostgreSQL and with sqlite3 on SQLite) must answer what the app answers, to the fen,
including for entries written a second either side of an Asia/Shanghai midnight (UTC 16:00), where
a yardstick comparing local time with UTC would go wrong. Run on the test database: SQLite by
default, PostgreSQL with TEST_DATABASE_URL."""
from datetime import timedelta
from types import SimpleNamespace

from flask import current_app

from marketplace.core.db import utcnow
from marketplace.extensions import db
from marketplace.households.income import LOCAL
from marketplace.households.models import EntryKind
from marketplace.monitoring import reconciliation
from marketplace.monitoring.models import MonitoringLine
from marketplace.monitoring.scan import Window, _local_midnight, households_with_figures, run_scan
from bench import monitoring_rounds as rounds
from bench.monitoring_sqlite import bind, translate
from tests.monitoring.test_core import TODAY, dropping_and_steady
from tests.monitoring import test_reconciliation
from tests.monitoring.test_reconciliation import append

books = test_reconciliation.books  # the fixture: a cooperative's paid lines, accruals and a payout


def _period():
    today = utcnow().astimezone(LOCAL).date()
    return today - timedelta(days=1), today


def test_the_reconciliation_yardstick_gives_the_apps_figures_across_midnight(books, _schema):
    start, end = _period()
    lo, hi = reconciliation._bounds(start, end)
    append(books, 7, created_at=lo - timedelta(seconds=1))  # 23:59:59 in Shanghai the day before: owed only
    append(books, 11, created_at=lo)  # 00:00:00 on the first day: allocated in the period
    app = reconciliation.reconcile(books.coop.id, start, end)
    with rounds.connect(_schema) as conn:
        yardstick = rounds.reconcile_baseline(conn, rounds.reconcile_params(books.coop.id, (start, end)))
    assert {k: int(v) for k, v in yardstick.items()} == {k: app[k] for k in rounds.RECONCILE_FIGURES}
    assert (app["allocated_fen"], app["owed_fen"]) == (300 + 11, 200 + 11 + 7)


def test_the_scan_yardstick_gives_the_apps_sums_and_hits_across_midnight(make, _schema):
    staff, coop = make.staff(), make.coop()
    db.session.add(MonitoringLine(year=TODAY.year, yuan_per_person=100))
    dropping, steady = dropping_and_steady(staff, 21)
    w = Window(TODAY)
    steady_books = SimpleNamespace(coop=coop, h=steady)  # what append() needs
    append(steady_books, 5, created_at=_local_midnight(w.first) - timedelta(seconds=1))  # before the 12 months
    append(steady_books, 13, created_at=_local_midnight(w.last3))  # first second of the last 3 months
    append(steady_books, 17, created_at=_local_midnight(w.last3) - timedelta(seconds=1))  # last of the 3 before
    append(steady_books, 19, created_at=_local_midnight(TODAY + timedelta(days=1)) - timedelta(seconds=1))
    append(steady_books, 23, created_at=_local_midnight(TODAY + timedelta(days=1)))  # tomorrow: not yet
    app_rows = sorted((r[0], r[1], r[2], *map(int, r[4:8]), bool(r[8])) for r in households_with_figures(w))
    with rounds.connect(_schema) as conn:
        rows = rounds.scan_baseline(conn, rounds.scan_params(TODAY))
        line = rounds.line_fen(conn, TODAY)
    assert sorted((r[0], r[1], r[2], *map(int, r[3:7]), bool(r[7])) for r in rows) == app_rows
    income = {r[0]: r[3:6] for r in app_rows}[steady.id]
    assert income == (6 * 2000_00 + 13 + 17 + 19, 3 * 2000_00 + 13 + 19, 3 * 2000_00 + 17)
    hits = rounds.hits_by_the_rules(rows, line, current_app.config["MONITORING_DROP_PCT"], TODAY)
    assert hits == run_scan(TODAY)["opened"] == 1


def test_psycopg_placeholders_and_values_become_sqlites():
    assert translate("a = %(x)s AND b = %s") == "a = :x AND b = ?"
    moment = _local_midnight(TODAY)  # 00:00 in Shanghai is 16:00 UTC the day before
    assert bind(moment) == "2026-11-14 16:00:00.000000"
    assert bind(TODAY) == "2026-11-15" and bind(EntryKind.accrual.value) == "accrual"
