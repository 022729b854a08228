"""The monitoring scan: run the rules over every household and open a case for each
new hit. Figures come from SQL aggregates (one query per source), not row loops.

Rules (REASONS): projected per-capita annual income below the year's monitoring
line; income in the last 3 months down by at least MONITORING_DROP_PCT against
the 3 months before; essential spending in the last 12 months above income;
a risk event recorded in the last 90 days.
"""
from collections import defaultdict
from datetime import date, timedelta

from flask import current_app
from sqlalchemy import func, literal_column, select
from sqlalchemy.exc import IntegrityError

from ..core.db import utcnow
from ..extensions import db
from ..households.income import LOCAL, months
from ..households.models import EntryKind, Household, HouseholdStatus, LedgerEntry
from .cases import open_case
from .models import Case, IncomeRecord, MonitoringLine, RecordKind, RiskEvent, OPEN_STATUSES


def month_of(column):
    """'YYYY-MM' of a UTC timestamp in Asia/Shanghai (UTC+8, no daylight saving)."""
    if db.session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone("Asia/Shanghai", column), literal_column("'YYYY-MM'"))
    return func.strftime("%Y-%m", column, "+8 hours")


def month_of_date(column):
    if db.session.get_bind().dialect.name == "postgresql":
        return func.to_char(column, literal_column("'YYYY-MM'"))
    return func.strftime("%Y-%m", column)


def _window(today):
    first = date(today.year, today.month, 1)
    start = (first - timedelta(days=365)).replace(day=1) + timedelta(days=31)
    return months(start.replace(day=1), today)  # the 12 months ending with this one


def gather(today) -> tuple[dict, dict]:
    """(income, spending): {household_id: {month: fen}} over the last 12 months."""
    window = _window(today)
    income, spending = defaultdict(lambda: defaultdict(int)), defaultdict(lambda: defaultdict(int))
    key = month_of(LedgerEntry.created_at)
    for hid, month, fen in db.session.execute(
            select(LedgerEntry.household_id, key, func.sum(LedgerEntry.amount_fen))
            .where(LedgerEntry.kind.in_([EntryKind.accrual, EntryKind.reversal]), key >= window[0])
            .group_by(LedgerEntry.household_id, key)):
        income[hid][month] += fen
    mkey = month_of_date(IncomeRecord.month)
    for hid, kind, month, fen in db.session.execute(
            select(IncomeRecord.household_id, IncomeRecord.kind, mkey, func.sum(IncomeRecord.amount_fen))
            .where(mkey >= window[0]).group_by(IncomeRecord.household_id, IncomeRecord.kind, mkey)):
        (income if kind == RecordKind.income else spending)[hid][month] += fen
    return income, spending


def evaluate(household, income: dict, spending: dict, line_fen: int | None, risky: bool, today, drop_pct) -> list:
    window = _window(today)
    reasons = []
    enrolled = household.enrolled_at.strftime("%Y-%m")
    known = [m for m in window if m >= enrolled] or window[-1:]
    total = sum(income.get(m, 0) for m in window)
    projected = total * 12 // len(known) // household.members
    if line_fen and projected < line_fen:
        reasons.append({"rule": "below_line", "detail": {"projected_per_capita_fen": projected, "line_fen": line_fen}})
    last3, prev3 = (sum(income.get(m, 0) for m in window[i:j]) for i, j in ((-3, None), (-6, -3)))
    if prev3 > 0 and last3 * 100 <= prev3 * (100 - drop_pct):
        reasons.append({"rule": "income_drop", "detail": {"last_3_months_fen": last3, "previous_3_months_fen": prev3}})
    spent = sum(spending.get(m, 0) for m in window)
    if spent > total:
        reasons.append({"rule": "spending_above_income", "detail": {"spending_fen": spent, "income_fen": total}})
    if risky:
        reasons.append({"rule": "risk_event", "detail": {}})
    return reasons


def run_scan(today: date | None = None) -> dict:
    """Open a case for every household with a hit and no open case. Safe to run twice
    at once: a unique index allows one open case per household."""
    today = today or utcnow().astimezone(LOCAL).date()
    line = db.session.scalar(select(MonitoringLine.yuan_per_person).where(MonitoringLine.year == today.year))
    income, spending = gather(today)
    risky = set(db.session.scalars(select(RiskEvent.household_id).where(
        RiskEvent.occurred_on >= today - timedelta(days=90))))
    open_ids = set(db.session.scalars(select(Case.household_id).where(Case.status.in_(OPEN_STATUSES))))
    households = db.session.scalars(select(Household).where(Household.status != HouseholdStatus.exited)).all()
    drop = current_app.config["MONITORING_DROP_PCT"]
    opened = skipped = 0
    for household in households:
        reasons = evaluate(household, income.get(household.id, {}), spending.get(household.id, {}),
                           line * 100 if line else None, household.id in risky, today, drop)
        if not reasons or household.id in open_ids:
            skipped += bool(reasons)
            continue
        try:
            with db.session.begin_nested():
                open_case(household, reasons)
            opened += 1
        except IntegrityError:  # another scan opened it a moment ago
            skipped += 1
    return {"households": len(households), "opened": opened, "already_open": skipped}
