"""What staff record about a household besides the ledger: other income and
essential spending per month, risk events; and the yearly monitoring line (admin).

Every rule lives here, so the HTML forms and the JSON API refuse the same things:
no month in the future, amounts above zero, a category that matches the kind
(wages are income, medical bills are spending), a line above zero for a year in
2000..2100. Each change leaves an audit record in the same transaction.
"""
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..core import audit
from ..core.clock import local_today
from ..core.errors import Forbidden, Invalid
from ..core.images import process_upload
from ..core.money import MAX_PRICE_FEN, parse_yuan
from ..core.storage import store_image
from ..core.validation import Checker
from ..extensions import db
from .models import (INCOME_CATEGORIES, IncomeRecord, MonitoringLine, RecordCategory, RecordKind, RiskEvent,
                     RiskKind)
from .scope import ensure_can_see

#: one record is at most ¥10,000,000: a typing slip (an extra zero or three) gets a clear error
MAX_RECORD_FEN = MAX_PRICE_FEN * 100
MAX_LINE_YUAN = 1_000_000


def categories_for(kind: str) -> list[str]:
    if kind == RecordKind.income.value:
        return [c.value for c in RecordCategory if c in INCOME_CATEGORIES]
    return [c.value for c in RecordCategory if c not in INCOME_CATEGORIES]


def _month(c: Checker, field: str, today: date):
    """'YYYY-MM' or 'YYYY-MM-DD' (or a date) -> the first of that month; not after this month."""
    raw = c.data.get(field)
    if raw in (None, ""):
        c.fail(field, _l("This field is required."))
        return
    try:
        if isinstance(raw, date):
            value = raw
        else:
            text = str(raw).strip()
            value = date.fromisoformat(text + "-01" if len(text) == 7 else text)
    except ValueError:
        c.fail(field, _l("Enter a month as YYYY-MM."))
        return
    value = value.replace(day=1)
    if value > today.replace(day=1):
        c.fail(field, _l("The month cannot be in the future."))
    elif value.year < 2000:
        c.fail(field, _l("Enter a month from 2000 on."))
    else:
        c.clean[field] = value


def _yuan_to_fen(data: dict) -> dict:
    """Forms send yuan ("1,234.50"); the services count fen. Anything unreadable is
    passed on for the checker to refuse with a field error."""
    if data.get("amount_fen") not in (None, "") or data.get("amount_yuan") in (None, ""):
        return data
    try:
        fen = parse_yuan(data["amount_yuan"])
    except ValueError:
        fen = "not a number"
    return {**data, "amount_fen": fen}


def record_income(user, household, data: dict, evidence: bytes | None = None, today: date | None = None):
    """Other income (wages elsewhere, subsidies ...) or essential spending (medical,
    education, disaster losses) of one household for one month."""
    ensure_can_see(user, household)
    today = today or local_today()
    data = _yuan_to_fen(dict(data or {}))
    c = Checker(data)
    c.choice("kind", [k.value for k in RecordKind])
    c.choice("category", [k.value for k in RecordCategory])
    _month(c, "month", today)
    c.integer("amount_fen", minimum=1, maximum=MAX_RECORD_FEN,
              message=_l("Enter an amount above zero and at most ¥10,000,000."))
    c.text("source", max_len=200, required=False)
    clean = c.done()
    if clean["category"] not in categories_for(clean["kind"]):
        message = _l("This category does not belong to that kind of entry.")
        raise Invalid(message, code="category_mismatch", fields={"category": [message]})
    record = IncomeRecord(household_id=household.id, month=clean["month"], kind=RecordKind(clean["kind"]),
                          category=RecordCategory(clean["category"]), amount_fen=clean["amount_fen"],
                          source=clean["source"], recorded_by_id=user.id)
    if evidence:
        record.evidence_key = store_image(process_upload(evidence))
    db.session.add(record)
    db.session.flush()
    audit.record(user, f"household.{record.kind.value}_record", record,
                 after={"household_id": household.id, "month": record.month.isoformat(),
                        "category": record.category.value, "amount_fen": record.amount_fen,
                        "source": record.source})
    return record


def record_risk_event(user, household, data: dict, today: date | None = None) -> RiskEvent:
    """A serious illness, disaster or lost job, on the day it happened (not in the future)."""
    ensure_can_see(user, household)
    c = Checker(dict(data or {}))
    c.choice("kind", [k.value for k in RiskKind])
    c.day("occurred_on", required=True, not_after=today or local_today())
    c.text("note", max_len=500, required=False, multiline=True)
    clean = c.done()
    if clean["occurred_on"].year < 2000:
        raise Invalid(_l("Enter a date from 2000 on."), fields={"occurred_on": [_l("Enter a date from 2000 on.")]})
    event = RiskEvent(household_id=household.id, kind=RiskKind(clean["kind"]), occurred_on=clean["occurred_on"],
                      note=clean["note"], recorded_by_id=user.id)
    db.session.add(event)
    db.session.flush()
    audit.record(user, "household.risk_event", event, after={
        "household_id": household.id, "kind": event.kind.value, "occurred_on": event.occurred_on.isoformat()})
    return event


def records_of(household_id: int, limit: int = 200):
    return db.session.scalars(select(IncomeRecord).where(IncomeRecord.household_id == household_id)
                              .order_by(IncomeRecord.month.desc(), IncomeRecord.id.desc()).limit(limit)).all()


def risk_events_of(household_id: int, limit: int = 100):
    return db.session.scalars(select(RiskEvent).where(RiskEvent.household_id == household_id)
                              .order_by(RiskEvent.occurred_on.desc(), RiskEvent.id.desc()).limit(limit)).all()


def record_outcome(user, case, measure, outcome: str):
    """The outcome of an assistance measure (what changed for the household)."""
    ensure_can_see(user, case.household)
    c = Checker({"outcome": outcome})
    c.text("outcome", max_len=3000, multiline=True)
    before = measure.outcome
    measure.outcome = c.done()["outcome"]
    audit.record(user, "case.measure_outcome", case, before={"measure_id": measure.id, "outcome": before},
                 after={"measure_id": measure.id, "outcome": measure.outcome})
    return measure


# --- monitoring lines ---------------------------------------------------------------

def lines() -> list[MonitoringLine]:
    return db.session.scalars(select(MonitoringLine).order_by(MonitoringLine.year.desc())).all()


def set_line(user, data: dict) -> tuple[MonitoringLine, bool]:
    """Set the monitoring line of a year (admin only). (line, created)."""
    if not getattr(user, "is_admin", False):
        raise Forbidden(_l("Only an administrator can set the monitoring line."), code="admin_only")
    c = Checker(dict(data or {}))
    c.integer("year", minimum=2000, maximum=2100)
    c.integer("yuan_per_person", minimum=1, maximum=MAX_LINE_YUAN,
              message=_l("Enter a line above zero, in yuan per person per year."))
    clean = c.done()
    line = db.session.scalar(select(MonitoringLine).where(MonitoringLine.year == clean["year"]))
    created = line is None
    before = None if created else {"year": line.year, "yuan_per_person": line.yuan_per_person}
    if created:
        line = MonitoringLine(year=clean["year"])
        db.session.add(line)
    line.yuan_per_person, line.set_by_id = clean["yuan_per_person"], user.id
    db.session.flush()
    audit.record(user, "monitoring.line", line, before=before,
                 after={"year": line.year, "yuan_per_person": line.yuan_per_person})
    return line, created
