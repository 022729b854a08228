"""Programme staff pages for income monitoring: the dashboard, the cases (filters, the
overdue list, one case with its steps, measures and the income before and after
each measure), a household's other income, spending and risk events, and the
monitoring lines. Staff only; staff assigned to counties see those counties only
(another county's household or case is a 404)."""
from datetime import datetime

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import Text, cast, func, or_, select

from ..auth.models import User
from ..core.errors import DomainError, NotFound
from ..extensions import db
from ..households.income import LOCAL
from ..households.models import Household
from . import cases as case_service, dashboard, records
from .models import INCOME_CATEGORIES, OPEN_STATUSES, Case, CaseStatus, MeasureKind, RecordCategory, RiskKind
from .jobs import enqueue_scan
from .scope import counties_of, ensure_can_see, level_in

bp = Blueprint("monitoring", __name__, url_prefix="/staff/monitoring")
PER_PAGE = 25
INCOME_VALUES = {c.value for c in INCOME_CATEGORIES}

STATUS = {"identified": _l("Identified"), "village_review": _l("Village review"),
          "township_check": _l("Township check"), "county_decision": _l("County decision"),
          "assisted": _l("Assisted"), "closed": _l("Closed"), "dismissed": _l("Dismissed")}
RULES = {"below_line": _l("Projected income below the monitoring line"),
         "income_drop": _l("Income dropped sharply"),
         "spending_above_income": _l("Essential spending above income"), "risk_event": _l("Risk event recorded")}
MEASURES = {"industry": _l("Industry"), "employment": _l("Employment"), "health": _l("Health care"),
            "education": _l("Education"), "housing": _l("Housing"), "social_security": _l("Social security"),
            "livestream_sales": _l("Livestream sales"), "other": _l("Other")}
CATEGORIES = {"wages": _l("Wages from work elsewhere"), "subsidy": _l("Subsidy"), "farming": _l("Farming"),
              "other_income": _l("Other income"), "medical": _l("Medical costs"), "education": _l("Education costs"),
              "disaster_loss": _l("Disaster loss"), "other_spending": _l("Other essential spending")}
RISKS = {"serious_illness": _l("Serious illness"), "disaster": _l("Disaster"), "lost_job": _l("Lost job"),
         "other": _l("Other")}
LEVELS = {"village": _l("village"), "township": _l("township"), "county": _l("county")}


@bp.before_request
@login_required
def _staff_only():
    if not current_user.is_staff:
        abort(403)


@bp.context_processor
def _labels():
    return {"m_labels": {"status": STATUS, "rule": RULES, "measure": MEASURES, "category": CATEGORIES,
                         "risk": RISKS, "level": LEVELS},
            "income_categories": [c.value for c in RecordCategory if c in INCOME_CATEGORIES],
            "spending_categories": [c.value for c in RecordCategory if c not in INCOME_CATEGORIES]}


def _page() -> int:
    return min(max(request.args.get("page", 1, type=int) or 1, 1), 100_000)


def _visible_cases(counties):
    stmt = select(Case).join(Household, Household.id == Case.household_id)
    return stmt if counties is None else stmt.where(Household.county.in_(counties))


def _case(case_id) -> Case:
    case = db.session.get(Case, case_id) if case_id < 2**31 else None
    if case is None:
        raise NotFound(_l("No such case."))
    ensure_can_see(current_user, case.household)
    return case


def _household(household_id) -> Household:
    household = db.session.get(Household, household_id) if household_id < 2**31 else None
    if household is None:
        raise NotFound(_l("No such household."))
    ensure_can_see(current_user, household)
    return household


# --- dashboard and scan -------------------------------------------------------------

@bp.get("")
def index():
    return render_template("monitoring/dashboard.html", d=dashboard.summary(current_user))


@bp.post("/scan")
def scan():
    result = enqueue_scan()
    if result["queued"]:
        flash(_("The scan was queued; new cases appear when it has run."), "success")
    else:
        flash(_("Scanned %(n)d households: %(opened)d new cases, %(open)d already open.", n=result["households"],
                opened=result["opened"], open=result["already_open"]), "success")
    return redirect(url_for("monitoring.index"))


# --- cases ------------------------------------------------------------------------------

@bp.get("/cases")
def case_list():
    counties = counties_of(current_user)
    stmt = _visible_cases(counties)
    status = request.args.get("status", "open")
    if status == "open":
        stmt = stmt.where(Case.status.in_(OPEN_STATUSES))
    elif status in STATUS:
        stmt = stmt.where(Case.status == CaseStatus(status))
    county = request.args.get("county", "")
    if county:
        stmt = stmt.where(Household.county == county)
    q = " ".join(request.args.get("q", "").split())[:80]
    if q:
        stmt = stmt.where(or_(Household.file_no == q, Household.head_name.contains(q, autoescape=True)))
    rule = request.args.get("rule", "")
    if rule in RULES:  # reasons are JSON text [{"rule": ..., "detail": ...}] on both databases
        stmt = stmt.where(cast(Case.reasons, Text).contains(f'"rule": "{rule}"'))
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery()))
    page = _page()
    found = db.session.scalars(stmt.order_by(Case.due_at, Case.id).offset((page - 1) * PER_PAGE)
                               .limit(PER_PAGE)).all()
    county_stmt = select(Household.county).distinct().order_by(Household.county)
    all_counties = db.session.scalars(county_stmt if counties is None
                                      else county_stmt.where(Household.county.in_(counties))).all()
    return render_template("monitoring/cases.html", cases=found, total=total, page=page, per_page=PER_PAGE,
                           status=status, county=county, q=q, rule=rule, counties=all_counties,
                           now=datetime.now(LOCAL))


@bp.get("/cases/overdue")
def overdue():
    counties = counties_of(current_user)
    stmt = case_service.overdue().join(Household, Household.id == Case.household_id)
    if counties is not None:
        stmt = stmt.where(Household.county.in_(counties))
    return render_template("monitoring/overdue.html", cases=db.session.scalars(stmt.limit(500)).all(),
                           now=datetime.now(LOCAL))


def _show_case(case, status=200, form=None, errors=None):
    household = case.household
    today = datetime.now(LOCAL).date()
    start = dashboard.shift_month(today.replace(day=1), -11)
    actors = {s.actor_id for s in case.steps} | {m.recorded_by_id for m in case.measures}
    names = dict(db.session.execute(select(User.id, User.display_name).where(User.id.in_(actors))).all()) \
        if actors else {}
    return render_template(
        "monitoring/case.html", case=case, household=household, names=names,
        moves=[m.value for m in sorted(case_service.allowed_moves(case), key=lambda s: s == CaseStatus.dismissed)],
        my_level=level_in(current_user, household.county), months=dashboard.household_months(household, start, today),
        effects=dashboard.measure_income(household, case.measures, today), measure_kinds=[k.value for k in MeasureKind],
        overdue=case.status.value in OPEN_STATUSES and case.due_at < datetime.now(LOCAL) and not case.measures,
        form=form or {}, errors=errors or {}), status


@bp.get("/cases/<int:case_id>")
def case_page(case_id):
    return _show_case(_case(case_id))


def _post(case_id, action, done_message):
    case = _case(case_id)
    data = request.form.to_dict()
    try:
        action(case, data)
    except DomainError as err:
        db.session.rollback()
        flash(str(err.message), "error")
        return _show_case(_case(case_id), err.status, data, {k: [str(m) for m in v] for k, v in err.fields.items()})
    db.session.commit()
    flash(done_message, "success")
    return redirect(url_for("monitoring.case_page", case_id=case_id))


@bp.post("/cases/<int:case_id>/transition")
def transition(case_id):
    return _post(case_id, lambda case, data: case_service.transition(
        current_user, case, data.get("to", ""), data.get("comment", "")), _("The case moved on."))


@bp.post("/cases/<int:case_id>/measures")
def add_measure(case_id):
    return _post(case_id, lambda case, data: case_service.add_measure(current_user, case, data),
                 _("Measure recorded."))


@bp.post("/cases/<int:case_id>/measures/<int:measure_id>/outcome")
def measure_outcome(case_id, measure_id):
    def act(case, data):
        measure = next((m for m in case.measures if m.id == measure_id), None)
        if measure is None:
            raise NotFound(_l("No such measure."))
        records.record_outcome(current_user, case, measure, data.get("outcome", ""))
    return _post(case_id, act, _("Outcome saved."))


# --- a household's other income, spending and risk events ------------------------------

@bp.get("/households")
def find_household():
    """The dashboard's lookup: a file number -> that household's income and risks."""
    file_no = " ".join(request.args.get("file_no", "").split())[:40]
    counties = counties_of(current_user)
    stmt = select(Household.id).where(Household.file_no == file_no)
    if counties is not None:
        stmt = stmt.where(Household.county.in_(counties))
    household_id = db.session.scalar(stmt) if file_no else None
    if household_id is None:
        flash(_("No household with file number %(file_no)s among those you can see.", file_no=file_no or "–"),
              "error")
        return redirect(url_for("monitoring.index"))
    return redirect(url_for("monitoring.household_records", household_id=household_id))


@bp.route("/households/<int:household_id>/records", methods=["GET", "POST"])
def household_records(household_id):
    household = _household(household_id)
    form, errors, status = {}, {}, 200
    if request.method == "POST":
        form = request.form.to_dict()
        try:
            if form.get("form") == "risk":
                records.record_risk_event(current_user, household, form)
            else:
                if not form.get("kind"):  # the form's categories are grouped by kind
                    form["kind"] = "income" if form.get("category") in INCOME_VALUES else "spending"
                upload = request.files.get("evidence")
                records.record_income(current_user, household, form, evidence=upload.read() if upload else None)
        except DomainError as err:
            db.session.rollback()
            household = _household(household_id)
            errors, status = {k: [str(m) for m in v] for k, v in err.fields.items()}, err.status
            if not errors:
                flash(str(err.message), "error")
        else:
            db.session.commit()
            flash(_("Saved."), "success")
            return redirect(url_for("monitoring.household_records", household_id=household_id))
    today = datetime.now(LOCAL).date()
    start = dashboard.shift_month(today.replace(day=1), -11)
    open_case = db.session.scalar(select(Case).where(Case.household_id == household.id,
                                                     Case.status.in_(OPEN_STATUSES)))
    return render_template(
        "monitoring/household.html", household=household, records=records.records_of(household.id),
        events=records.risk_events_of(household.id), months=dashboard.household_months(household, start, today),
        open_case=open_case, risk_kinds=[k.value for k in RiskKind], form=form, errors=errors,
        this_month=today.strftime("%Y-%m"), today=today.isoformat()), status


# --- monitoring lines ------------------------------------------------------------------------

@bp.route("/lines", methods=["GET", "POST"])
def lines():
    form, errors, status = {}, {}, 200
    if request.method == "POST":
        form = request.form.to_dict()
        try:
            line, created = records.set_line(current_user, form)
        except DomainError as err:
            db.session.rollback()
            errors, status = {k: [str(m) for m in v] for k, v in err.fields.items()}, err.status
            if not errors:
                flash(str(err.message), "error")
        else:
            db.session.commit()
            flash(_("The monitoring line for %(year)d is now ¥%(yuan)s per person.", year=line.year,
                    yuan=f"{line.yuan_per_person:,}"), "success")
            return redirect(url_for("monitoring.lines"))
    return render_template("monitoring/lines.html", lines=records.lines(), form=form, errors=errors), status

