"""Programme staff workspace: review cooperative applications."""
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from ..coops import services as coop_services
from ..coops.forms import ReasonForm
from ..coops.models import CoopStatus, Cooperative
from ..core.errors import DomainError
from ..extensions import db
from ..monitoring.scope import counties_of

bp = Blueprint("staff", __name__, url_prefix="/staff")


@bp.before_request
@login_required
def _staff_only():
    if not current_user.is_staff:
        abort(403)


@bp.get("/cooperatives")
def cooperatives():
    status = request.args.get("status", "pending")
    q = select(Cooperative).order_by(Cooperative.created_at.desc())
    if status in CoopStatus.__members__:
        q = q.where(Cooperative.status == CoopStatus(status))
    counties = counties_of(current_user)  # staff of some counties decide on those counties' cooperatives
    if counties is not None:
        q = q.where(Cooperative.county.in_(counties))
    coops = db.session.scalars(q.limit(200)).all()
    return render_template("staff/cooperatives.html", coops=coops, status=status, form=ReasonForm(),
                           statuses=list(CoopStatus))


@bp.post("/cooperatives/<int:coop_id>/<any(verify, reject, suspend):decision>")
def decide(coop_id, decision):
    coop = db.session.get(Cooperative, coop_id)
    if coop is None or not coop_services.staff_covers(current_user, coop.county):
        abort(404)
    form = ReasonForm()
    if not form.validate_on_submit():
        flash(_("Please try again."), "error")
        return redirect(url_for("staff.cooperatives"))
    try:
        coop_services.decide(current_user, coop, decision, form.reason.data)
    except DomainError as err:
        db.session.rollback()
        flash(str(err.message), "error")
    else:
        db.session.commit()
        flash(_("%(name)s is now %(status)s.", name=coop.name, status=_(coop.status.value)), "success")
    return redirect(url_for("staff.cooperatives", status=request.args.get("status", "pending")))
