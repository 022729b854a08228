"""Cases: identified -> village_review -> township_check -> county_decision ->
assisted -> closed, or dismissed with a reason. Each step by a staff member with
that step's level in the household's county, with a comment; no step skipped.

The household's status in the register follows its case: a household with an
open case is `monitored`, `assisted` once a measure is decided and working, and
`stable` again when the case is closed (risk removed) or dismissed."""
from datetime import timedelta

from flask import current_app, has_request_context, request
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import insert, select, text, update

from ..core import audit
from ..core.db import utcnow
from ..core.errors import Conflict, Forbidden, Invalid
from ..core.validation import Checker
from ..core.audit import AuditRecord
from ..extensions import db
from ..households.models import Household, HouseholdStatus as H
from .models import Case, CaseStatus as S, CaseStep, Measure, MeasureKind, StaffLevel
from .scope import ensure_can_see, level_in

#: status -> (next status, the level that takes that step)
NEXT = {
    S.identified: (S.village_review, StaffLevel.village),
    S.village_review: (S.township_check, StaffLevel.township),
    S.township_check: (S.county_decision, StaffLevel.county),
    S.county_decision: (S.assisted, StaffLevel.county),
    S.assisted: (S.closed, StaffLevel.county),
}
#: the household's status once its case reaches a step (other steps leave it alone)
HOUSEHOLD_STATUS = {S.assisted: H.assisted, S.closed: H.stable, S.dismissed: H.stable}
#: dismissing is a decision of the county
DISMISS_LEVEL = StaffLevel.county
RANK = {StaffLevel.village: 1, StaffLevel.township: 2, StaffLevel.county: 3}


def allowed_moves(case) -> set:
    if case.status not in NEXT:
        return set()
    return {NEXT[case.status][0], S.dismissed}


def open_case(household, reasons, now=None) -> Case:
    now = now or utcnow()
    days = current_app.config["CASE_MEASURE_DAYS"]
    case = Case(household_id=household.id, reasons=reasons, opened_at=now, due_at=now + timedelta(days=days))
    db.session.add(case)
    db.session.flush()
    before = household.status
    if household.status == H.stable:
        household.status = H.monitored
    audit.record(None, "case.open", case, before={"household_status": before.value},
                 after={"household_id": household.id, "reasons": reasons, "household_status": household.status.value})
    return case


#: the predicate of the partial unique index uq_cases_one_open_per_household, word for word
#: (migration 0005): ON CONFLICT names it so the database picks that index
ONE_OPEN_CASE = text("status IN ('identified','village_review','township_check','county_decision','assisted')")
BATCH = 1000


def _insert_skipping_open(table):
    """INSERT ... ON CONFLICT (household_id) WHERE <open> DO NOTHING, in this database's dialect."""
    if db.session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    return dialect_insert(table).on_conflict_do_nothing(index_elements=[table.c.household_id],
                                                        index_where=ONE_OPEN_CASE)


def open_cases(found: dict[int, list], statuses: dict[int, H], now=None) -> list[int]:
    """Open a case for each household in `found` ({household_id: reasons}): what the scan
    does for thousands of households at once, in a few statements per thousand. A
    household that has an open case (opened a moment ago by a concurrent scan, say) is
    skipped: the partial unique index decides, and the insert does nothing for it.
    `statuses` holds each household's status, for the audit record. Returns the ids of
    the households that got a case."""
    if not found:
        return []
    now = now or utcnow()
    due = now + timedelta(days=current_app.config["CASE_MEASURE_DAYS"])
    table = Case.__table__
    stmt = _insert_skipping_open(table).returning(table.c.id, table.c.household_id)
    rows = [{"household_id": h, "status": S.identified, "reasons": reasons, "opened_at": now, "due_at": due}
            for h, reasons in found.items()]
    opened = []
    for i in range(0, len(rows), BATCH):
        opened += db.session.execute(stmt, rows[i:i + BATCH]).all()
    household_ids = [h for _, h in opened]
    for i in range(0, len(household_ids), BATCH):
        db.session.execute(update(Household).where(Household.id.in_(household_ids[i:i + BATCH]),
                                                   Household.status == H.stable)
                           .values(status=H.monitored).execution_options(synchronize_session=False))
    ip = request.remote_addr if has_request_context() else None
    records = [{"created_at": now, "actor_id": None, "action": "case.open", "object_type": "cases",
                "object_id": case_id, "ip": ip, "before": {"household_status": statuses[h].value},
                "after": {"household_id": h, "reasons": found[h], "household_status": (
                    H.monitored if statuses[h] == H.stable else statuses[h]).value}}
               for case_id, h in opened]
    for i in range(0, len(records), BATCH):
        db.session.execute(insert(AuditRecord.__table__), records[i:i + BATCH])
    return household_ids


def transition(user, case: Case, to: str, comment: str) -> Case:
    ensure_can_see(user, case.household)
    try:
        target = S(to)
    except ValueError:
        raise Invalid(_l("Unknown case status."), code="invalid_status") from None
    comment = (comment or "").strip()
    if not 3 <= len(comment) <= 2000:
        raise Invalid(_l("Write a comment of 3 to 2000 characters."), code="comment_required",
                      fields={"comment": [_l("Write a comment of 3 to 2000 characters.")]})
    if target not in allowed_moves(case):
        raise Conflict(_l("A case that is %(status)s cannot move to %(to)s; steps cannot be skipped.",
                          status=gettext(case.status.value), to=gettext(target.value)), code="invalid_transition")
    needed = DISMISS_LEVEL if target == S.dismissed else NEXT[case.status][1]
    have = level_in(user, case.household.county)
    if have is None or RANK[have] < RANK[needed]:
        raise Forbidden(_l("This step needs a %(level)s-level staff member.", level=gettext(needed.value)),
                        code="wrong_level")
    if target == S.assisted and not case.measures:
        raise Conflict(_l("Record an assistance measure first."), code="measure_required")
    before, household_before = case.status, case.household.status
    case.status = target
    if target in (S.closed, S.dismissed):
        case.closed_at = utcnow()
    if target == S.dismissed:
        case.dismissed_reason = comment[:500]
    if household_before != H.exited:  # a household that left the programme stays out of it
        case.household.status = HOUSEHOLD_STATUS.get(target, household_before)
    case.steps.append(CaseStep(from_status=before, to_status=target, actor_id=user.id, comment=comment))
    audit.record(user, f"case.{target.value}", case,
                 before={"status": before.value, "household_status": household_before.value},
                 after={"status": target.value, "comment": comment, "household_status": case.household.status.value})
    return case


def add_measure(user, case: Case, data: dict) -> Measure:
    ensure_can_see(user, case.household)
    if case.status in (S.closed, S.dismissed):
        raise Conflict(_l("The case is closed."), code="case_closed")
    c = Checker(data)
    c.choice("kind", [k.value for k in MeasureKind])
    c.text("helper", max_len=80)
    c.day("started_on", required=True)
    c.text("description", max_len=3000, required=False, multiline=True)
    c.text("outcome", max_len=3000, required=False, multiline=True)
    clean = c.done()
    measure = Measure(kind=MeasureKind(clean.pop("kind")), recorded_by_id=user.id, **clean)
    case.measures.append(measure)
    db.session.flush()
    audit.record(user, "case.measure", case, after={"measure_id": measure.id, "kind": measure.kind.value})
    return measure


def overdue(now=None):
    """Open cases past their due date without any measure."""
    now = now or utcnow()
    return (select(Case).where(Case.status.in_([S.identified, S.village_review, S.township_check, S.county_decision]),
                               Case.due_at < now, ~Case.measures.any()).order_by(Case.due_at))
