"""Figures for the staff home page and the income picture of one household.

Every figure is one SQL GROUP BY over the rows in the viewer's counties, so the
page runs the same handful of queries for ten households or twenty thousand.
"""
from collections import defaultdict
from datetime import date, datetime, timedelta

from sqlalchemy import and_, case as when, func, select

from ..coops.models import Cooperative
from ..core.db import utcnow
from ..extensions import db
from ..households.income import LOCAL, monthly_income, months
from ..households.models import EntryKind, Household, LedgerEntry
from .models import OPEN_STATUSES, Case, CaseStatus, IncomeRecord, Measure, RecordKind
from .scan import month_of, month_of_date, shift_month
from .scope import counties_of

TREND_MONTHS = 12
TOP_COOPS = 10
AT_RISK_LISTED = 10
INCOME_KINDS = (EntryKind.accrual, EntryKind.reversal)
#: overdue: before a measure is due (not yet assisted), past the due date, no measure recorded
NOT_YET_ASSISTED = (CaseStatus.identified, CaseStatus.village_review, CaseStatus.township_check,
                    CaseStatus.county_decision)


def window(today: date, n: int = TREND_MONTHS) -> tuple[date, list[str]]:
    """The first day of the first month, and the n months ending with today's."""
    start = shift_month(today.replace(day=1), -(n - 1))
    return start, months(start, today)


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), LOCAL)


def _scoped(stmt, counties, household_id_column=None):
    """Only rows of households in the viewer's counties (None: every county)."""
    if counties is None:
        return stmt
    if household_id_column is not None:
        stmt = stmt.join(Household, Household.id == household_id_column)
    return stmt.where(Household.county.in_(counties))


def overdue_condition(now):
    return and_(Case.status.in_(NOT_YET_ASSISTED), Case.due_at < now,
                ~select(Measure.id).where(Measure.case_id == Case.id).exists())


def summary(user, today: date | None = None) -> dict:
    counties = counties_of(user)
    today = today or datetime.now(LOCAL).date()
    now = utcnow()
    by_status = dict(db.session.execute(_scoped(
        select(Household.status, func.count()).group_by(Household.status), counties)).all())
    by_county = db.session.execute(_scoped(
        select(Household.county, func.count()).group_by(Household.county)
        .order_by(func.count().desc(), Household.county), counties)).all()
    case_rows = db.session.execute(_scoped(
        select(Case.status, func.count(), func.sum(when((overdue_condition(now), 1), else_=0)))
        .group_by(Case.status), counties, Case.household_id)).all()
    cases_by_status = {s.value if hasattr(s, "value") else s: n for s, n, _ in case_rows}
    start, trend_months = window(today)
    return {
        "counties": counties,
        "households_by_status": {getattr(s, "value", s): n for s, n in by_status.items()},
        "households_total": sum(by_status.values()),
        "households_by_county": [{"label": c, "households": n} for c, n in by_county],
        "cases_by_status": cases_by_status,
        "open_cases": sum(n for s, n in cases_by_status.items() if s in OPEN_STATUSES),
        "at_risk": at_risk(counties, now),
        "overdue_cases": sum(int(o or 0) for _, _, o in case_rows),
        "trend": trend(counties, start, trend_months),
        "top_cooperatives": top_cooperatives(counties, start),
        "period": (start, today),
    }


def at_risk(counties, now, limit: int = AT_RISK_LISTED) -> list[dict]:
    """Households with an open case (one open case per household) and why, the
    measure due soonest first: who needs help, at a glance."""
    stmt = (select(Case.id, Case.status, Case.reasons, Case.due_at, overdue_condition(now), Household.id,
                   Household.head_name, Household.file_no, Household.county, Household.village)
            .join(Household, Household.id == Case.household_id).where(Case.status.in_(OPEN_STATUSES))
            .order_by(Case.due_at, Case.id).limit(limit))
    if counties is not None:
        stmt = stmt.where(Household.county.in_(counties))
    keys = ("case_id", "status", "reasons", "due_at", "overdue", "household_id", "head_name", "file_no", "county",
            "village")
    return [{**dict(zip(keys, row)), "status": row[1].value, "overdue": bool(row[4])}
            for row in db.session.execute(stmt)]


def trend(counties, start: date, month_keys: list[str]) -> list[dict]:
    """Income of all (visible) households per month: marketplace, other income, spending."""
    key = month_of(LedgerEntry.created_at)
    market = dict(db.session.execute(_scoped(
        select(key, func.sum(LedgerEntry.amount_fen))
        .where(LedgerEntry.kind.in_(INCOME_KINDS), LedgerEntry.created_at >= _local_midnight(start))
        .group_by(key), counties, LedgerEntry.household_id)).all())
    mkey = month_of_date(IncomeRecord.month)
    other, spending = defaultdict(int), defaultdict(int)
    for kind, month, fen in db.session.execute(_scoped(
            select(IncomeRecord.kind, mkey, func.sum(IncomeRecord.amount_fen))
            .where(IncomeRecord.month >= start).group_by(IncomeRecord.kind, mkey),
            counties, IncomeRecord.household_id)):
        (other if kind == RecordKind.income else spending)[month] += int(fen)
    rows = []
    for m in month_keys:
        market_fen, other_fen = int(market.get(m) or 0), other.get(m, 0)
        rows.append({"label": m, "marketplace_fen": market_fen, "other_fen": other_fen,
                     "income_fen": market_fen + other_fen, "spending_fen": spending.get(m, 0)})
    return rows


def top_cooperatives(counties, start: date, limit: int = TOP_COOPS) -> list[dict]:
    """Cooperatives by the household income they generated since `start` (accruals less reversals)."""
    total = func.sum(LedgerEntry.amount_fen)
    stmt = (select(LedgerEntry.cooperative_id, Cooperative.name, total, func.count(LedgerEntry.household_id.distinct()))
            .join(Cooperative, Cooperative.id == LedgerEntry.cooperative_id)
            .where(LedgerEntry.kind.in_(INCOME_KINDS), LedgerEntry.created_at >= _local_midnight(start))
            .group_by(LedgerEntry.cooperative_id, Cooperative.name)
            .order_by(total.desc(), LedgerEntry.cooperative_id).limit(limit))
    return [{"id": cid, "label": name, "income_fen": int(fen or 0), "households": n}
            for cid, name, fen, n in db.session.execute(_scoped(stmt, counties, LedgerEntry.household_id))]


# --- one household --------------------------------------------------------------------

def household_months(household, start: date, end: date) -> list[dict]:
    """Per month: marketplace income (the ledger), other income and spending recorded by
    staff, and their sum; zeros included. Two queries whatever the span."""
    market = monthly_income(household.id, start, end)
    mkey = month_of_date(IncomeRecord.month)
    other, spending = defaultdict(int), defaultdict(int)
    for kind, month, fen in db.session.execute(
            select(IncomeRecord.kind, mkey, func.sum(IncomeRecord.amount_fen))
            .where(IncomeRecord.household_id == household.id, IncomeRecord.month >= start.replace(day=1),
                   IncomeRecord.month <= end).group_by(IncomeRecord.kind, mkey)):
        (other if kind == RecordKind.income else spending)[month] += int(fen)
    return [{"label": m["month"], "marketplace_fen": m["income_fen"], "other_fen": other.get(m["month"], 0),
             "income_fen": m["income_fen"] + other.get(m["month"], 0), "spending_fen": spending.get(m["month"], 0)}
            for m in market]


def _window_figures(rows: list[dict], members: int) -> dict:
    known = [r for r in rows if not r["future"]]
    total = sum(r["income_fen"] for r in known)
    average = total // len(known) if known else None
    return {"months": rows, "total_fen": total, "known_months": len(known), "average_fen": average,
            "per_person_fen": average // members if average is not None else None}


def measure_income(household, measures, today: date | None = None) -> dict:
    """{measure id: {"before": ..., "after": ..., "change_pct"}}: the household's income
    (marketplace plus other income) in the 3 months before the month a measure started,
    and in that month and the 2 after it. Months still to come are marked, not counted."""
    if not measures:
        return {}
    today = today or datetime.now(LOCAL).date()
    firsts = [m.started_on.replace(day=1) for m in measures]
    span_start, span_end = shift_month(min(firsts), -3), shift_month(max(firsts), 3) - timedelta(days=1)
    by_month = {r["label"]: r for r in household_months(household, span_start, span_end)}
    this_month = today.strftime("%Y-%m")
    out = {}
    for measure, first in zip(measures, firsts):
        def rows(offsets):
            keys = [shift_month(first, n).strftime("%Y-%m") for n in offsets]
            return [{**by_month[k], "future": k > this_month} for k in keys]
        before = _window_figures(rows((-3, -2, -1)), household.members)
        after = _window_figures(rows((0, 1, 2)), household.members)
        change = None
        if before["average_fen"] and after["average_fen"] is not None:
            change = round((after["average_fen"] - before["average_fen"]) * 100 / before["average_fen"])
        out[measure.id] = {"before": before, "after": after, "change_pct": change}
    return out
