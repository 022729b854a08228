"""Cases: identified -> village_review -> township_check -> county_decision ->
assisted -> closed, or dismissed with a reason. Each step by a staff member with
that step's level in the household's county, with a comment; no step skipped.

The household's status in the register follows its case: a household with an
open case is `monitored`, `assisted` once a measure is decided and working, and
`stable` again when the case is closed (risk removed) or dismissed."""
from datetime import timedelta

from flask import current_app
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..core import audit
from ..core.db import utcnow
from ..core.errors import Conflict, Forbidden, Invalid
from ..core.validation import Checker
from ..extensions import db
from ..households.models import HouseholdStatus as H
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
    """One case, through the ORM (the scan opens its thousands with opening.open_cases)."""
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
