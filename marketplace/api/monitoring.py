"""Income monitoring and the audit workspace (API.md, "Households, ledger, audit"):
monitoring lines (admin), cases and their steps and measures, the scan, the
reconciliation of a cooperative's books and the audit log.

Programme staff only. Staff assigned to counties see the cases of those counties
(another county's case is a 404) and reconcile the cooperatives of those counties;
the audit log is for programme-level staff and admins.
"""
from flask_babel import lazy_gettext as _l
from flask_smorest import Blueprint
from sqlalchemy import func, select

from ..core.db import utcnow
from ..core.errors import NotFound
from ..core.money import DEFAULT_CURRENCY
from ..extensions import db
from ..households.models import Household
from ..monitoring import cases, records, reconciliation
from ..monitoring.audit_views import cooperative_in_scope, log_page, period, require_programme_level
from ..monitoring.jobs import enqueue_scan
from ..monitoring.models import OPEN_STATUSES, Case, CaseStatus
from ..monitoring.scope import counties_of, ensure_can_see
from .common import BEARER, list_envelope, require_user
from .monitoring_schemas import (AuditRecordSchema, CaseQuery, CaseSchema, LogQuery, MeasureInSchema, MeasureSchema,
                                 MonitoringLineInSchema, MonitoringLineSchema, ReconciliationQuery,
                                 ReconciliationSchema, ScanResultSchema, TransitionSchema)

blp = Blueprint("monitoring_api", __name__, description="Income monitoring, cases, reconciliation, audit log")
PLAIN = ("paid", "allocated", "retained", "paid_out", "owed")


@blp.before_request
def _signed_in():
    """Every route here needs a token: 401 comes before any 422 about the body."""
    require_user()


def _staff():
    user = require_user()
    counties_of(user)  # 403 staff_only for anyone else
    return user


def line_dict(line) -> dict:
    return {"id": line.id, "year": line.year, "yuan_per_person": line.yuan_per_person,
            "line_fen": line.yuan_per_person * 100, "set_by_id": line.set_by_id, "created_at": line.created_at}


def case_dict(case, full=False) -> dict:
    data = {"id": case.id, "household_id": case.household_id, "status": case.status.value, "reasons": case.reasons,
            "opened_at": case.opened_at, "due_at": case.due_at, "closed_at": case.closed_at,
            "dismissed_reason": case.dismissed_reason, "county": case.household.county,
            "overdue": (case.status.value in OPEN_STATUSES[:4] and case.due_at < utcnow() and not case.measures)}
    if full:
        data["steps"] = [{"from_status": s.from_status.value, "to_status": s.to_status.value, "actor_id": s.actor_id,
                          "comment": s.comment, "created_at": s.created_at} for s in case.steps]
        data["measures"] = [measure_dict(m) for m in case.measures]
    return data


def measure_dict(m) -> dict:
    return {"id": m.id, "case_id": m.case_id, "kind": m.kind.value, "helper": m.helper, "started_on": m.started_on,
            "description": m.description, "outcome": m.outcome, "recorded_by_id": m.recorded_by_id,
            "created_at": m.created_at}


def _case(user, case_id) -> Case:
    case = db.session.get(Case, case_id) if 1 <= case_id < 2**31 else None
    if case is None:
        raise NotFound(_l("No such case."))
    ensure_can_see(user, case.household)
    return case


# --- monitoring lines ----------------------------------------------------------------

@blp.route("/monitoring/lines", methods=["GET"])
@blp.response(200, list_envelope(MonitoringLineSchema))
@blp.doc(security=BEARER, description="Programme staff: the monitoring line of each year, newest first.")
def list_lines():
    _staff()
    items = [line_dict(x) for x in records.lines()]
    return {"items": items, "page": 1, "per_page": max(len(items), 1), "total": len(items)}


@blp.route("/monitoring/lines", methods=["POST"])
@blp.arguments(MonitoringLineInSchema)
@blp.response(201, MonitoringLineSchema)
@blp.alt_response(200, schema=MonitoringLineSchema, description="The year already had a line: it was changed.")
@blp.doc(security=BEARER, description="Admin only (403 admin_only). Sets the line of a year (2000..2100) in yuan "
                                      "per person; 0 or less is 422.")
def set_line(body):
    line, created = records.set_line(_staff(), body)
    db.session.commit()
    return line_dict(line), 201 if created else 200


# --- cases ---------------------------------------------------------------------------------

@blp.route("/monitoring/cases", methods=["GET"])
@blp.arguments(CaseQuery, location="query")
@blp.response(200, list_envelope(CaseSchema))
@blp.doc(security=BEARER, description="Cases of the households the caller may see, oldest due date first.")
def list_cases(args):
    counties = counties_of(_staff())
    stmt = select(Case).join(Household, Household.id == Case.household_id)
    if counties is not None:
        stmt = stmt.where(Household.county.in_(counties))
    if args.get("status") == "open":
        stmt = stmt.where(Case.status.in_(OPEN_STATUSES))
    elif args.get("status"):
        stmt = stmt.where(Case.status == CaseStatus(args["status"]))
    if args.get("household_id"):
        stmt = stmt.where(Case.household_id == args["household_id"])
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery()))
    page, per_page = args["page"], args["per_page"]
    rows = db.session.scalars(stmt.order_by(Case.due_at, Case.id).limit(per_page).offset((page - 1) * per_page))
    return {"items": [case_dict(c) for c in rows], "page": page, "per_page": per_page, "total": total}


@blp.route("/monitoring/cases/<int:case_id>", methods=["GET"])
@blp.response(200, CaseSchema)
@blp.doc(security=BEARER, description="One case with its steps and measures.")
def get_case(case_id):
    return case_dict(_case(_staff(), case_id), full=True)


@blp.route("/monitoring/scan", methods=["POST"])
@blp.response(200, ScanResultSchema)
@blp.alt_response(202, schema=ScanResultSchema, description="Queued on RQ (REDIS_URL set).")
@blp.doc(security=BEARER, description="Programme staff. Runs the monitoring rules over every household and opens "
                                      "a case for each new hit, never a second open case for a household.")
def scan():
    _staff()
    result = enqueue_scan()
    return result, 202 if result["queued"] else 200


@blp.route("/monitoring/cases/<int:case_id>/transition", methods=["POST"])
@blp.arguments(TransitionSchema)
@blp.response(200, CaseSchema)
@blp.doc(security=BEARER, description="The next step or `dismissed`, with a comment. 409 invalid_transition "
                                      "(skipped or from a closed case), 403 wrong_level, 409 measure_required.")
def transition(body, case_id):
    user = _staff()
    case = cases.transition(user, _case(user, case_id), body["to"], body["comment"])
    db.session.commit()
    return case_dict(case, full=True)


@blp.route("/monitoring/cases/<int:case_id>/measures", methods=["POST"])
@blp.arguments(MeasureInSchema)
@blp.response(201, MeasureSchema)
@blp.doc(security=BEARER, description="An assistance measure with a named helper and its start date.")
def add_measure(body, case_id):
    user = _staff()
    measure = cases.add_measure(user, _case(user, case_id), body)
    db.session.commit()
    return measure_dict(measure)


# --- audit -------------------------------------------------------------------------------------

@blp.route("/audit/reconciliation", methods=["GET"])
@blp.arguments(ReconciliationQuery, location="query")
@blp.response(200, ReconciliationSchema)
@blp.doc(security=BEARER, description="A cooperative's books for a period (Asia/Shanghai days, both ends "
                                      "included), in fen, with the discrepancies found.")
def reconcile(args):
    user = _staff()
    coop = cooperative_in_scope(user, args["cooperative_id"])
    start, end = period(args.get("from_"), args.get("to"))
    result = reconciliation.reconcile(coop.id, start, end)
    return {**result, "from_": start, "to": end, "currency": DEFAULT_CURRENCY,
            "ledger_verified_at": result["ledger"]["verified_at"],
            "ledger_verified_entries": result["ledger"]["verified_entries"],
            **{key: result[f"{key}_fen"] for key in PLAIN}}


@blp.route("/audit/log", methods=["GET"])
@blp.arguments(LogQuery, location="query")
@blp.response(200, list_envelope(AuditRecordSchema))
@blp.doc(security=BEARER, description="Programme-level staff and admins (403 programme_staff_only for staff "
                                      "assigned to counties). Search by person, object, action and days.")
def audit_log(args):
    require_programme_level(_staff())
    filters = {**args, "from": args.get("from_")}
    return log_page(filters, args["page"], args["per_page"])
