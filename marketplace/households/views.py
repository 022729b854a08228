"""Programme staff pages: the household register (list, create, edit, CSV import),
one household's page (links, ledger, balances, income) and the link approval
queue. Staff only; everyone else signed in gets 403. Staff assigned to counties
see those counties' households only; another county's household is a 404."""
from datetime import date, datetime

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, or_, select

from ..auth.models import User
from ..catalog.models import Product
from ..coops.models import Cooperative
from ..core.errors import DomainError
from ..core.forms import EmptyForm, apply_errors, form_status
from ..extensions import db
from . import income, links, services
from .csv_import import import_households
from .forms import DecideForm, FilterForm, HouseholdForm, ImportForm, labels
from .models import BenefitLink, Household, HouseholdStatus, LedgerEntry, LinkStatus

bp = Blueprint("households", __name__, url_prefix="/staff/households")
PER_PAGE = 25
ENTRIES_PER_PAGE = 20


@bp.before_request
@login_required
def _staff_only():
    if not current_user.is_staff:
        abort(403)


@bp.context_processor
def _labels():
    return {"labels": labels()}


def _page() -> int:
    return max(request.args.get("page", 1, type=int) or 1, 1)


def _names(column, key, ids) -> dict:
    """{id: name} for a set of ids in one query (no query per table row)."""
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    return dict(db.session.execute(select(key, column).where(key.in_(ids))).all())


# --- the register --------------------------------------------------------------

def _filtered(form):
    q = select(Household)
    if form.q.data:
        text = form.q.data.strip()[:80]
        q = q.where(or_(Household.file_no.icontains(text, autoescape=True),
                        Household.head_name.icontains(text, autoescape=True)))
    if form.county.data:
        q = q.where(Household.county == form.county.data)
    if form.village.data:
        q = q.where(Household.village.icontains(form.village.data.strip()[:80], autoescape=True))
    if form.status.data in HouseholdStatus.__members__:
        q = q.where(Household.status == HouseholdStatus(form.status.data))
    return q


@bp.get("")
def index():
    counties = db.session.scalars(services.visible_households(
        current_user, select(Household.county).distinct().order_by(Household.county))).all()
    form = FilterForm(counties, formdata=request.args)  # unknown values simply match nothing
    q = services.visible_households(current_user, _filtered(form))
    total = db.session.scalar(select(func.count()).select_from(q.subquery()))
    page = _page()
    households = db.session.scalars(q.order_by(Household.file_no).offset((page - 1) * PER_PAGE)
                                    .limit(PER_PAGE)).all()
    return render_template("households/index.html", form=form, households=households, total=total, page=page,
                           per_page=PER_PAGE)


@bp.route("/new", methods=["GET", "POST"])
def new():
    form = HouseholdForm()
    if form.validate_on_submit():
        try:
            household = services.create_household(current_user, form.data_for_service())
        except DomainError as err:
            db.session.rollback()  # nothing of the failed attempt stays
            apply_errors(form, err)
        else:
            db.session.commit()
            flash(_("Household %(file_no)s registered.", file_no=household.file_no), "success")
            return redirect(url_for("households.show", household_id=household.id))
    return render_template("households/form.html", form=form, household=None), form_status(form)


@bp.route("/<int:household_id>/edit", methods=["GET", "POST"])
def edit(household_id):
    household = services.household_for(current_user, household_id)
    form = HouseholdForm(obj=household)
    if not form.is_submitted():
        form.status.data, form.id_number.data = household.status.value, ""
    if form.validate_on_submit():
        try:
            services.update_household(current_user, household, form.data_for_service(keep_id_number=True))
        except DomainError as err:
            db.session.rollback()
            household = services.household_for(current_user, household_id)
            apply_errors(form, err)
        else:
            db.session.commit()
            flash(_("Saved."), "success")
            return redirect(url_for("households.show", household_id=household.id))
    return render_template("households/form.html", form=form, household=household), form_status(form)


@bp.route("/import", methods=["GET", "POST"])
def import_csv():
    form, report = ImportForm(), None
    if form.validate_on_submit() and form.file.data:
        try:
            report = import_households(current_user, form.file.data.read())
        except DomainError as err:
            db.session.rollback()
            flash(str(err.message), "error")
        else:
            db.session.commit()
    return render_template("households/import.html", form=form, report=report)


# --- one household -------------------------------------------------------------

def _last_12_months(today: date):
    index = today.year * 12 + today.month - 1 - 11
    return date(index // 12, index % 12 + 1, 1)


def _show(household, unmasked=None):
    links_ = db.session.scalars(select(BenefitLink).where(BenefitLink.household_id == household.id)
                                .order_by(BenefitLink.link_key, BenefitLink.version.desc())).all()
    page = _page()
    entries_q = select(LedgerEntry).where(LedgerEntry.household_id == household.id)
    entry_total = db.session.scalar(select(func.count()).select_from(entries_q.subquery()))
    entries = db.session.scalars(entries_q.order_by(LedgerEntry.seq.desc())
                                 .offset((page - 1) * ENTRIES_PER_PAGE).limit(ENTRIES_PER_PAGE)).all()
    balances = services.balances_for_household(household.id)
    coop_ids = {k.cooperative_id for k in links_} | {e.cooperative_id for e in entries} | {c for c, _ in balances}
    today = datetime.now(income.LOCAL).date()
    months = [{"label": m["month"], "income_fen": m["income_fen"]}
              for m in income.monthly_income(household.id, _last_12_months(today), today)]
    return render_template(
        "households/show.html", household=household, links=links_, entries=entries, entry_total=entry_total,
        page=page, per_page=ENTRIES_PER_PAGE, balances=balances, months=months,
        summary=income.income_summary(household, today), unmasked=unmasked, form=EmptyForm(),
        coops=_names(Cooperative.name, Cooperative.id, coop_ids),
        products=_names(Product.title, Product.id, {k.product_id for k in links_}))


@bp.get("/<int:household_id>")
def show(household_id):
    return _show(services.household_for(current_user, household_id))


@bp.post("/<int:household_id>/unmask")
def unmask(household_id):
    household = services.household_for(current_user, household_id)
    if not EmptyForm().validate_on_submit():
        flash(_("Please try again."), "error")
        return redirect(url_for("households.show", household_id=household_id))
    number = services.unmasked_id_number(current_user, household)  # writes the audit record
    db.session.commit()
    # shown once: neither the browser's cache nor a proxy keeps the page
    return _show(household, unmasked=number), 200, {"Cache-Control": "no-store"}


# --- link approval -------------------------------------------------------------

@bp.get("/links")
def link_queue():
    proposed = db.session.scalars(services.visible_households(
        current_user, select(BenefitLink).join(Household, Household.id == BenefitLink.household_id)
        .where(BenefitLink.status == LinkStatus.proposed).order_by(BenefitLink.created_at).limit(200))).all()
    return render_template(
        "households/links.html", links=proposed, form=DecideForm(),
        coops=_names(Cooperative.name, Cooperative.id, {k.cooperative_id for k in proposed}),
        products=_names(Product.title, Product.id, {k.product_id for k in proposed}),
        users=_names(User.display_name, User.id, {k.proposed_by_id for k in proposed}))


@bp.post("/links/<int:link_id>/<any(approve, reject):decision>")
def decide(link_id, decision):
    link = db.session.get(BenefitLink, link_id) if link_id < 2**31 else None
    if link is None:
        abort(404)
    services.household_for(current_user, link.household_id)  # 404 outside the staff member's counties
    form = DecideForm()
    if not form.validate_on_submit():
        flash(_("Please try again."), "error")
        return redirect(url_for("households.link_queue"))
    try:
        links.decide(current_user, link, approve=decision == "approve", note=form.note.data or "")
    except DomainError as err:
        db.session.rollback()
        flash(str(err.message), "error")
    else:
        db.session.commit()
        flash(_("Link approved.") if decision == "approve" else _("Link rejected."), "success")
    return redirect(url_for("households.link_queue"))
