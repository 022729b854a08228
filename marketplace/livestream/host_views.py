"""The host console (/my/shows): a cooperative's owners, managers and hosts schedule,
reschedule and cancel shows, and run one live: start, end, pin, quotas, the show's
orders as they arrive, and chat moderation. Other signed-in users get 403; a show
of another cooperative is 404."""
from flask import Blueprint, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import select

from ..catalog.models import Product, ProductStatus
from ..coops.services import ensure_member
from ..core import audit
from ..core.errors import DomainError, Forbidden, Invalid, NotFound
from ..core.forms import EmptyForm, apply_errors, form_status
from ..core.images import process_upload
from ..core.storage import store_image
from ..extensions import db
from . import chat, services
from .events import channel
from .forms import QuotaForm, ReplayForm, RescheduleForm, ShowForm, lineup_items, local_to_utc, show_data, utc_to_local
from .models import ChatMessage, Show, ShowStatus
from .report import note_viewers, show_lines

bp = Blueprint("live_host", __name__, url_prefix="/my/shows")


@bp.before_request
@login_required
def _signed_in():
    return None


def _coop():
    membership = current_user.membership
    if membership is None:
        raise Forbidden(_l("Only a cooperative's owners, managers and hosts run live shows."), code="not_a_host")
    ensure_member(current_user, membership.cooperative, services.HOSTS)
    return membership.cooperative


def _own_show(show_id) -> Show:
    coop = _coop()
    show = db.session.get(Show, show_id) if 0 < show_id < 2**31 else None
    if show is None or show.cooperative_id != coop.id:
        raise NotFound(_l("No such show."))
    return show


def _console(show):
    return redirect(url_for(".console", show_id=show.id))


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


@bp.get("")
def index():
    coop = _coop()
    shows = db.session.scalars(select(Show).where(Show.cooperative_id == coop.id)
                               .order_by(Show.starts_at.desc()).limit(200)).all()
    return render_template("livestream/host_index.html", coop=coop, shows=shows, form=EmptyForm())


@bp.route("/new", methods=["GET", "POST"])
def new():
    coop = _coop()
    products = db.session.scalars(select(Product).where(Product.cooperative_id == coop.id,
                                                        Product.status == ProductStatus.active)
                                  .order_by(Product.title)).all()
    form = ShowForm()
    form.set_products(products)
    if form.validate_on_submit():
        try:
            data = show_data(form)
            show = services.schedule(current_user, coop, data, lineup_items(form))
            cover = form.cover.data
            if cover and getattr(cover, "filename", ""):
                show.cover_key = store_image(process_upload(cover.read()))
        except DomainError as err:
            db.session.rollback()
            apply_errors(form, err)
        else:
            db.session.commit()
            flash(_("The show is scheduled."), "success")
            return _console(show)
    return render_template("livestream/host_form.html", form=form, products=products), form_status(form)


@bp.route("/<int:show_id>/edit", methods=["GET", "POST"])
def edit(show_id):
    show = _own_show(show_id)
    form = RescheduleForm()
    if not form.is_submitted():
        form.starts_at.data, form.ends_at.data = utc_to_local(show.starts_at), utc_to_local(show.ends_at)
    if form.validate_on_submit():
        try:
            services.reschedule(current_user, show, local_to_utc(form.starts_at.data, "starts_at"),
                                local_to_utc(form.ends_at.data, "ends_at"))
        except DomainError as err:
            db.session.rollback()
            apply_errors(form, err)
        else:
            db.session.commit()
            flash(_("The show has a new time. Subscribers were told."), "success")
            return _console(show)
    return render_template("livestream/host_reschedule.html", form=form, show=show), form_status(form)


@bp.post("/<int:show_id>/cancel")
def cancel(show_id):
    show = _own_show(show_id)
    if EmptyForm().validate_on_submit():
        try:
            services.cancel(current_user, show)
        except DomainError as err:
            db.session.rollback()
            flash(str(err.message), "error")
        else:
            db.session.commit()
            flash(_("The show is cancelled. Subscribers were told and the quotas went back to stock."), "success")
    return redirect(url_for(".index"))


@bp.get("/<int:show_id>")
def console(show_id):
    show = _own_show(show_id)
    pin = services.current_pin(show) if show.status == ShowStatus.live else None
    return render_template("livestream/console.html", show=show, pinned_item_id=pin.item_id if pin else None,
                           messages=chat.recent(show, 50), lines=show_lines(show.id), form=EmptyForm(),
                           quota_form=QuotaForm(), replay_form=ReplayForm(obj=show))


def _act(show, do, done_message):
    try:
        do()
    except DomainError as err:
        db.session.rollback()
        flash(str(err.message), "error")
    else:
        db.session.commit()
        flash(done_message, "success")
    return _console(show)


@bp.post("/<int:show_id>/<any(start, end):action>")
def run(show_id, action):
    show = _own_show(show_id)
    if not EmptyForm().validate_on_submit():
        return _console(show)
    if action == "start":
        return _act(show, lambda: services.start(current_user, show), _("The show is live."))
    return _act(show, lambda: services.end(current_user, show), _("The show has ended. Unsold quota is back in stock."))


@bp.post("/<int:show_id>/pin")
def pin(show_id):
    show = _own_show(show_id)
    raw = (request.form.get("product_id") or "").strip()
    if not EmptyForm().validate_on_submit() or (raw and not raw.isdigit()):
        return _console(show)
    product_id = int(raw) if raw else None
    return _act(show, lambda: services.pin(current_user, show, product_id),
                _("Pinned.") if product_id else _("Unpinned."))


@bp.post("/<int:show_id>/quota")
def quota(show_id):
    show = _own_show(show_id)
    form = QuotaForm()
    if not form.validate_on_submit():
        flash(_("Enter a quota from 0 to 100000."), "error")
        return _console(show)
    return _act(show, lambda: services.adjust_quota(current_user, show, form.product_id.data, form.quota.data),
                _("The quota is updated."))


@bp.post("/<int:show_id>/replay")
def replay(show_id):
    show = _own_show(show_id)
    form = ReplayForm()
    url = (form.replay_url.data or "").strip()
    if not form.validate_on_submit() or not services.is_https(url):
        flash(_("The replay address must start with https://."), "error")
        return _console(show)

    def save():
        before = show.replay_url
        show.replay_url = url
        audit.record(current_user, "show.replay", show, before={"replay_url": before}, after={"replay_url": url})
    return _act(show, save, _("The replay address is saved."))


@bp.post("/<int:show_id>/chat/<int:message_id>/<any(delete, mute):action>")
def moderate(show_id, message_id, action):
    show = _own_show(show_id)
    message = db.session.get(ChatMessage, message_id) if message_id < 2**31 else None
    if message is None or message.show_id != show.id:
        raise NotFound(_l("No such message."))
    try:
        if not EmptyForm().validate_on_submit():
            raise Invalid(_l("The form expired. Please reload the page."))
        if action == "delete":
            chat.delete(current_user, show, message.id)
        else:
            chat.mute(current_user, show, message.user_id)
    except DomainError as err:
        db.session.rollback()
        if _wants_json():
            return jsonify(err.to_dict()), err.status
        flash(str(err.message), "error")
        return _console(show)
    db.session.commit()
    done = _("Message deleted.") if action == "delete" else _("The author can no longer write in this show.")
    if _wants_json():
        return jsonify({"message_id": message.id, "action": action, "message": done})
    flash(done, "success")
    return _console(show)


@bp.get("/<int:show_id>/orders.json")
def orders(show_id):
    """The show's order lines, newest first, and the room's viewers now (the console polls this)."""
    show = _own_show(show_id)
    lines = [{**line, "status_label": _(line["status"])} for line in show_lines(show.id)]
    viewers = current_app.extensions["broker"].count(channel(show.id))
    note_viewers(show.id, viewers)
    db.session.refresh(show)
    return jsonify({"items": lines, "viewers": viewers, "peak_viewers": show.peak_viewers,
                    "status": show.status.value})
