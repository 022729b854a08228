"""Public cooperative pages and the members' dashboard."""
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, select

from ..catalog.models import Product, ProductStatus
from ..catalog.search import CatalogQuery, run_catalog
from ..core.errors import DomainError
from ..core.forms import apply_errors, form_status
from ..extensions import db
from . import services
from .forms import CooperativeForm, InviteForm
from .models import Cooperative, CoopStatus

bp = Blueprint("coops", __name__)


@bp.get("/cooperatives")
def index():
    coops = db.session.scalars(services.list_cooperatives()).all()
    counts = dict(db.session.execute(
        select(Product.cooperative_id, func.count()).where(Product.status == ProductStatus.active)
        .group_by(Product.cooperative_id)).all())
    return render_template("coops/index.html", coops=coops, counts=counts)


@bp.get("/cooperatives/<int:coop_id>")
def show(coop_id):
    coop = services.get_cooperative(coop_id, current_user)
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    products, total = run_catalog(db.session, CatalogQuery(cooperative_id=coop.id, page=page, sort="relevance"))
    return render_template("coops/show.html", coop=coop, products=products, total=total, page=page,
                           per_page=24)


def _form_data(form):
    return {k: getattr(form, k).data for k in ("name", "province", "county", "village", "registration_no",
                                               "contact_name", "contact_phone", "story")}


def _upload(field):
    file = field.data
    return file.read() if file and getattr(file, "filename", "") else None


@bp.route("/cooperatives/apply", methods=["GET", "POST"])
@login_required
def apply():
    if current_user.membership:
        return redirect(url_for("coops.dashboard"))
    form = CooperativeForm()
    if form.validate_on_submit():
        try:
            services.apply_for_cooperative(current_user, _form_data(form), _upload(form.logo))
        except DomainError as err:
            db.session.rollback()
            apply_errors(form, err)
        else:
            db.session.commit()
            flash(_("Thank you! Programme staff will review your application."), "success")
            return redirect(url_for("coops.dashboard"))
    return render_template("coops/apply.html", form=form), form_status(form)


def _my_coop() -> Cooperative:
    if not current_user.membership:
        return None
    return current_user.membership.cooperative


@bp.get("/my/cooperative")
@login_required
def dashboard():
    coop = _my_coop()
    if coop is None:
        return redirect(url_for("coops.apply"))
    products = db.session.scalars(select(Product).where(Product.cooperative_id == coop.id)
                                  .order_by(Product.status, Product.id.desc())).all()
    return render_template("coops/dashboard.html", coop=coop, products=products,
                           role=current_user.membership.role, invite_form=InviteForm(),
                           CoopStatus=CoopStatus)


@bp.route("/my/cooperative/edit", methods=["GET", "POST"])
@login_required
def edit():
    coop = _my_coop()
    if coop is None:
        return redirect(url_for("coops.apply"))
    form = CooperativeForm(obj=coop)
    if form.validate_on_submit():
        try:
            services.update_cooperative(current_user, coop, _form_data(form), _upload(form.logo))
        except DomainError as err:
            db.session.rollback()
            apply_errors(form, err)
        else:
            db.session.commit()
            flash(_("Saved."), "success")
            return redirect(url_for("coops.dashboard"))
    return render_template("coops/edit.html", form=form, coop=coop), form_status(form)


@bp.post("/my/cooperative/members")
@login_required
def invite():
    coop = _my_coop()
    form = InviteForm()
    if coop is None or not form.validate_on_submit():
        flash(_("Enter an email and a role."), "error")
        return redirect(url_for("coops.dashboard"))
    try:
        services.invite_member(current_user, coop, form.email.data, form.role.data)
    except DomainError as err:
        db.session.rollback()
        flash(str(err.message), "error")
    else:
        db.session.commit()
        flash(_("Invitation sent to %(email)s.", email=form.email.data), "success")
    return redirect(url_for("coops.dashboard"))
