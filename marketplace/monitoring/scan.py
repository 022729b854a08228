"""The monitoring scan: run the rules over every household and open a case for each
new hit.

Rules (the "rule" of each reason): projected per-capita annual income below the
year's monitoring line (`below_line`); income in the last 3 months down by at least
MONITORING_DROP_PCT against the 3 months before (`income_drop`); essential spending in
the last 12 months above income (`spending_above_income`); a risk event recorded in
the last 90 days (`risk_event`). Income is marketplace income (ledger accruals less
reversals, by the month they were written in Asia/Shanghai) plus the other income
staff record; the 12 months end with the scan day's month.

The figures come from one statement: the households joined to a GROUP BY over the
ledger and one over the recorded income, which return the sums the rules need per
household, so the database reads each row once and the scan runs the same handful of
statements for ten households or twenty thousand. The new cases are opened in bulk
(opening.py).
"""
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from flask import current_app
from sqlalchemy import and_, func, literal_column, select

from ..core.db import utcnow
from ..extensions import db
from ..households.income import LOCAL
from ..households.models import EntryKind, Household, HouseholdStatus, LedgerEntry
from .opening import open_cases
from .models import Case, IncomeRecord, MonitoringLine, OPEN_STATUSES, RecordKind, RiskEvent

RISK_EVENT_DAYS = 90


def month_of(column):
    """'YYYY-MM' of a UTC timestamp in Asia/Shanghai (UTC+8, no daylight saving)."""
    if db.session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone("Asia/Shanghai", column), literal_column("'YYYY-MM'"))
    return func.strftime("%Y-%m", column, "+8 hours")


def month_of_date(column):
    if db.session.get_bind().dialect.name == "postgresql":
        return func.to_char(column, literal_column("'YYYY-MM'"))
    return func.strftime("%Y-%m", column)


def shift_month(first: date, n: int) -> date:
    """The first day of the month n months after (n < 0: before) `first`'s month."""
    index = first.year * 12 + first.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, LOCAL)


class Window:
    """The months the rules look at, as of `today`: the 12 ending with today's month;
    of those, the last 3 and the 3 before them."""

    def __init__(self, today: date):
        self.today = today
        self.this_month = today.replace(day=1)
        self.first = shift_month(self.this_month, -11)
        self.last3 = shift_month(self.this_month, -2)
        self.prev3 = shift_month(self.this_month, -5)
        self._known = {}  # enrolment month -> months known: households share a few hundred of them

    def months_known(self, enrolled_at: date) -> int:
        """Months of the window the household was enrolled in (at least 1), to project a year."""
        key = (enrolled_at.year, enrolled_at.month)
        if key not in self._known:
            start = max(self.first, enrolled_at.replace(day=1))
            months = (self.this_month.year - start.year) * 12 + self.this_month.month - start.month + 1
            self._known[key] = min(max(months, 1), 12)
        return self._known[key]


@dataclass
class Figures:
    """One household's sums over the window, in fen: marketplace plus other income."""
    income: int = 0  #: the 12 months
    last3: int = 0
    prev3: int = 0
    spending: int = 0  #: essential spending, the 12 months


def _ledger_sums(w: Window):
    """Marketplace income per household: accruals less reversals written in the window."""
    at = LedgerEntry.created_at
    amount = LedgerEntry.amount_fen
    last3, prev3 = _local_midnight(w.last3), _local_midnight(w.prev3)
    return (select(LedgerEntry.household_id, func.sum(amount).label("income"),
                   func.sum(amount).filter(at >= last3).label("last3"),
                   func.sum(amount).filter(and_(at >= prev3, at < last3)).label("prev3"))
            .where(LedgerEntry.kind.in_([EntryKind.accrual, EntryKind.reversal]),
                   at >= _local_midnight(w.first), at < _local_midnight(w.today + timedelta(days=1)))
            .group_by(LedgerEntry.household_id))


def _record_sums(w: Window):
    """Other income (three sums, as for the ledger) and essential spending per household."""
    month, amount = IncomeRecord.month, IncomeRecord.amount_fen
    income = IncomeRecord.kind == RecordKind.income
    return (select(IncomeRecord.household_id, func.sum(amount).filter(income).label("income"),
                   func.sum(amount).filter(income, month >= w.last3).label("last3"),
                   func.sum(amount).filter(income, month >= w.prev3, month < w.last3).label("prev3"),
                   func.sum(amount).filter(IncomeRecord.kind == RecordKind.spending).label("spending"))
            .where(month >= w.first, month <= w.this_month).group_by(IncomeRecord.household_id))


def households_with_figures(w: Window):
    """Every household still in the programme with its figures and whether a risk event
    was recorded in the last 90 days: one statement, the sums grouped by the database."""
    ledger, records = _ledger_sums(w).subquery("ledger"), _record_sums(w).subquery("records")
    risky = (select(RiskEvent.household_id).distinct()
             .where(RiskEvent.occurred_on >= w.today - timedelta(days=RISK_EVENT_DAYS), RiskEvent.occurred_on <= w.today)
             .subquery("risky"))
    both = lambda name: func.coalesce(ledger.c[name], 0) + func.coalesce(records.c[name], 0)  # noqa: E731
    return db.session.execute(
        select(Household.id, Household.members, Household.enrolled_at, Household.status, both("income"),
               both("last3"), both("prev3"), func.coalesce(records.c.spending, 0),
               risky.c.household_id.is_not(None))
        .outerjoin(ledger, ledger.c.household_id == Household.id)
        .outerjoin(records, records.c.household_id == Household.id)
        .outerjoin(risky, risky.c.household_id == Household.id)
        .where(Household.status != HouseholdStatus.exited))


def evaluate(members: int, enrolled_at: date, f: Figures, line_fen: int | None, risky: bool, w: Window,
             drop_pct: int) -> list[dict]:
    """The reasons (rules hit, with the figures behind them) for one household; [] if none."""
    reasons = []
    projected = f.income * 12 // w.months_known(enrolled_at) // members
    if line_fen and projected < line_fen:
        reasons.append({"rule": "below_line", "detail": {"projected_per_capita_fen": projected, "line_fen": line_fen}})
    if f.prev3 > 0 and f.last3 * 100 <= f.prev3 * (100 - drop_pct):
        reasons.append({"rule": "income_drop", "detail": {"last_3_months_fen": f.last3,
                                                         "previous_3_months_fen": f.prev3}})
    if f.spending > f.income:
        reasons.append({"rule": "spending_above_income", "detail": {"spending_fen": f.spending,
                                                                    "income_fen": f.income}})
    if risky:
        reasons.append({"rule": "risk_event", "detail": {}})
    return reasons


def run_scan(today: date | None = None) -> dict:
    """Open a case for every household with a hit and no open case. Safe to run twice at
    once: a unique index allows one open case per household, and the insert skips a
    household another scan has just opened a case for."""
    w = Window(today or utcnow().astimezone(LOCAL).date())
    line = db.session.scalar(select(MonitoringLine.yuan_per_person).where(MonitoringLine.year == w.today.year))
    line_fen = line * 100 if line else None
    open_ids = set(db.session.scalars(select(Case.household_id).where(Case.status.in_(OPEN_STATUSES))))
    drop = current_app.config["MONITORING_DROP_PCT"]
    hits, statuses, households = {}, {}, 0
    for household_id, members, enrolled_at, status, *sums, risky in households_with_figures(w):
        households += 1
        reasons = evaluate(members, enrolled_at, Figures(*map(int, sums)), line_fen, risky, w, drop)
        if reasons:
            hits[household_id], statuses[household_id] = reasons, status
    new = {h: r for h, r in hits.items() if h not in open_ids}
    opened = open_cases(new, statuses)
    return {"households": households, "opened": len(opened), "already_open": len(hits) - len(opened)}
