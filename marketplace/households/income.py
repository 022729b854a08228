"""Marketplace income per household and month, from the ledger.

Income is what the household earned (accruals minus reversals), by the month the
entry was written in Asia/Shanghai time; payouts move money already earned and
are not income. Per-capita figures divide by the household's members.
"""
from collections import defaultdict
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import select

from ..extensions import db
from .models import EntryKind, LedgerEntry

LOCAL = ZoneInfo("Asia/Shanghai")


def _utc_bounds(start: date, end: date):
    """[start, end] local dates as UTC datetimes (end inclusive)."""
    lo = datetime.combine(start, datetime.min.time(), LOCAL).astimezone(timezone.utc)
    hi = datetime.combine(end + timedelta(days=1), datetime.min.time(), LOCAL).astimezone(timezone.utc)
    return lo, hi


def monthly_income(household_id: int, start: date, end: date) -> list[dict]:
    """[{"month": "2026-03", "income_fen": n}] for every month in the range, zeros included."""
    lo, hi = _utc_bounds(start, end)
    rows = db.session.execute(select(LedgerEntry.created_at, LedgerEntry.amount_fen).where(
        LedgerEntry.household_id == household_id, LedgerEntry.kind.in_([EntryKind.accrual, EntryKind.reversal]),
        LedgerEntry.created_at >= lo, LedgerEntry.created_at < hi))
    totals = defaultdict(int)
    for created_at, amount in rows:
        totals[created_at.astimezone(LOCAL).strftime("%Y-%m")] += amount
    return [{"month": m, "income_fen": totals.get(m, 0)} for m in months(start, end)]


def months(start: date, end: date) -> list[str]:
    out, y, m = [], start.year, start.month
    while (y, m) <= (end.year, end.month):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def income_summary(household, today: date | None = None) -> dict:
    """This calendar year and the rolling 12 months, in total and per person."""
    today = today or datetime.now(LOCAL).date()
    year_start = date(today.year, 1, 1)
    rolling_start = date(today.year - 1, today.month, 1) + timedelta(days=31)
    rolling_start = rolling_start.replace(day=1)
    year = sum(m["income_fen"] for m in monthly_income(household.id, year_start, today))
    rolling = sum(m["income_fen"] for m in monthly_income(household.id, rolling_start, today))
    return {"year_fen": year, "year_per_capita_fen": year // household.members,
            "rolling_12m_fen": rolling, "rolling_12m_per_capita_fen": rolling // household.members}
