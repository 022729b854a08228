"""Public live-show pages: the shows list, the show page (countdown, "remind me",
calendar file, and the live room when the show runs: player, pinned product,
buying at the live price, chat), the replay with its pin timeline, the report,
and hls.js served from node_modules."""
import json
import os
import secrets
from datetime import timedelta
from functools import lru_cache

from flask import (Blueprint, Response, abort, current_app, flash, g, jsonify, redirect, render_template, request,
                   send_file, session, url_for)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from .. import ROOT
from ..coops.models import CoopStatus, Cooperative
from ..core.db import utcnow
from ..core.errors import DomainError
from ..core.forms import EmptyForm, apply_errors
from ..extensions import db, limiter
from ..orders.checkout import WantedLine, check_address, place_checkout
from ..orders.models import Address
from ..payments import services as payments
from . import chat, reminders
from .forms import BuyAddressForm, BuyForm
from .models import LineupItem, Pin, Reminder, Show, ShowStatus
from .report import may_see_report, report_show, show_report, visible_show
from .services import current_pin

bp = Blueprint("livestream", __name__)
VIEWER_SESSION_KEY = "live_viewer"
HLS_DIR = os.path.join(ROOT, "node_modules", "hls.js")
#: hls.js's light build: HLS playback without alternate audio, subtitles, DRM or CMCD, which
#: rooms do not use; 38% less script for a phone to parse and run (docs/benchmarks.md, Lighthouse)
HLS_BUILD = os.path.join(HLS_DIR, "dist", "hls.light.min.js")


@lru_cache(maxsize=1)
def _hls_version_cached(mtime):
    with open(os.path.join(HLS_DIR, "package.json"), encoding="utf-8") as fh:
        return json.load(fh).get("version") or "0"


def hls_version() -> str | None:
    """The installed hls.js version (for the script URL, which is cached for a year), or None."""
    try:
        return _hls_version_cached(os.path.getmtime(HLS_BUILD))
    except OSError:
        return None


def is_hls(url) -> bool:
    return bool(url) and url.split("?")[0].split("#")[0].lower().endswith(".m3u8")


@bp.app_template_global()
def live_is_hls(url):
    return is_hls(url)


def _public_shows():
    return select(Show).join(Cooperative, Cooperative.id == Show.cooperative_id).where(
        Cooperative.status == CoopStatus.verified)


@bp.get("/shows")
def index():
    now = utcnow()
    live = db.session.scalars(_public_shows().where(Show.status == ShowStatus.live)
                              .order_by(Show.started_at.desc()).limit(24)).all()
    upcoming = db.session.scalars(_public_shows().where(Show.status == ShowStatus.scheduled, Show.ends_at > now)
                                  .order_by(Show.starts_at).limit(24)).all()
    replays = db.session.scalars(_public_shows().where(Show.status == ShowStatus.ended)
                                 .order_by(Show.ended_at.desc()).limit(12)).all()
    return render_template("livestream/index.html", live=live, upcoming=upcoming, replays=replays)


def _reminded(show) -> bool:
    return current_user.is_authenticated and db.session.scalar(
        select(Reminder.id).where(Reminder.show_id == show.id, Reminder.user_id == current_user.id)) is not None


@bp.get("/shows/<int:show_id>")
def room(show_id):
    show = visible_show(show_id, current_user)
    if show.status in (ShowStatus.scheduled, ShowStatus.live) and VIEWER_SESSION_KEY not in session:
        session[VIEWER_SESSION_KEY] = secrets.token_hex(16)  # counts an anonymous viewer once
    g.csp_live = True  # the player's media, segments and embeds
    pin = current_pin(show) if show.status == ShowStatus.live else None
    pinned = next((i for i in show.items if pin and i.id == pin.item_id), None)
    overtime = show.status == ShowStatus.live and utcnow() >= show.ends_at  # live prices ended with the schedule
    return render_template("livestream/room.html", show=show, pinned=pinned, messages=chat.recent(show, 30),
                           overtime=overtime, can_report=may_see_report(show, current_user),
                           reminded=_reminded(show), form=EmptyForm(), buy_form=BuyForm(),
                           hls_version=hls_version() if is_hls(show.stream_url) else None,
                           lead_minutes=current_app.config["REMINDER_LEAD_MINUTES"])


@bp.post("/shows/<int:show_id>/remind")
@login_required
def remind(show_id):
    show = visible_show(show_id, current_user)
    if EmptyForm().validate_on_submit():
        if show.status != ShowStatus.scheduled:
            flash(_("Reminders are only for shows that have not started."), "error")
        else:
            reminders.subscribe(current_user, show)
            db.session.commit()
            flash(_("We will mail you %(n)d minutes before the start.",
                    n=current_app.config["REMINDER_LEAD_MINUTES"]), "success")
    return redirect(url_for(".room", show_id=show.id))


@bp.get("/livestreams/<int:show_id>.ics")
def ics(show_id):
    show = visible_show(show_id, current_user)
    return Response(reminders.ics(show), mimetype="text/calendar",
                    headers={"Content-Disposition": f'attachment; filename="show-{show.id}.ics"'})


@bp.post("/shows/<int:show_id>/buy")
@login_required
@limiter.limit(lambda: current_app.config["CHECKOUT_RATE_LIMIT"])
def buy(show_id):
    """The room's buy button: straight to payment with the latest saved address; a
    buyer without one gets an address step first, which posts back here."""
    show = visible_show(show_id, current_user)
    form = BuyAddressForm()
    back = redirect(url_for(".room", show_id=show.id))
    if not form.validate_on_submit():
        flash(_("Choose a quantity from 1 to 999."), "error")
        return back
    item = next((i for i in show.items if i.product_id == form.product_id.data), None)
    if item is None:
        flash(_("That product is not in this show's lineup."), "error")
        return back
    if show.status != ShowStatus.live:
        flash(_("The show is not live: the live price applies only during the show."), "error")
        return redirect(url_for("catalog.product", product_id=item.product_id))
    if form.with_address.data:
        return _buy_to_new_address(show, item, form)
    saved = db.session.scalar(select(Address).where(Address.user_id == current_user.id)
                              .order_by(Address.id.desc()).limit(1))
    if saved is None:
        return render_template("livestream/buy_address.html", show=show, item=item, form=form)
    return _place(show, item, form.quantity.data, saved.as_dict()) or back


def _buy_to_new_address(show, item, form):
    try:
        address = check_address(form.shipping())
    except DomainError as err:
        status = apply_errors(form, err)  # (before rendering: the errors go beside the boxes)
        return render_template("livestream/buy_address.html", show=show, item=item, form=form), status
    return _place(show, item, form.quantity.data, address, save_address=True) or redirect(
        url_for(".room", show_id=show.id))


def _place(show, item, quantity, address, save_address=False):
    """Check out one lineup product (the live price while the show runs and the quota
    lasts, else the regular price) and go to payment; None, with a message, if refused."""
    try:
        placed = place_checkout(current_user, [WantedLine(item.product_id, quantity, livestream_id=show.id)],
                                address, current_app.config["PAYMENTS_PROVIDER"])
        payments.start_payment(placed)
    except DomainError as err:
        db.session.rollback()
        flash(str(err.message), "error")
        return None
    if save_address:
        db.session.add(Address(user_id=current_user.id, **address))
    db.session.commit()
    if not any(line.livestream_id for order in placed.orders for line in order.lines):
        flash(_("The live price of “%(title)s” no longer applies (the show's time is up or its live quota "
                "is gone): this order is at the regular price. You can cancel it below.",
                title=item.product.title), "error")
    return redirect(url_for("orders.pay", checkout_id=placed.id))


def _chat_key():
    if current_user.is_authenticated:
        return f"live-chat:user:{current_user.id}"
    return f"live-chat:ip:{request.remote_addr}"


@bp.post("/shows/<int:show_id>/chat")
@limiter.limit(lambda: current_app.config["CHAT_RATE_LIMIT"], key_func=_chat_key)
def post_chat(show_id):
    """The room's chat box (fetch with the X-CSRFToken header); answers JSON."""
    if not current_user.is_authenticated:
        return jsonify({"error": {"code": "unauthorized", "message": _("Log in to chat.")}}), 401
    try:
        show = visible_show(show_id, current_user)
        body = request.form.get("body") if request.form else (request.get_json(silent=True) or {}).get("body")
        message = chat.post(current_user, show, body)
        db.session.commit()
    except DomainError as err:
        db.session.rollback()
        return jsonify(err.to_dict()), err.status
    return jsonify(chat.message_dict(message, current_user.display_name)), 201


@bp.errorhandler(429)
def _too_many(err):
    if request.endpoint == "livestream.post_chat":
        return jsonify({"error": {"code": "rate_limited",
                                  "message": _("You are writing too fast. Wait a moment.")}}), 429
    message = _("Too many attempts. Please wait a minute and try again.")
    return render_template("error.html", status=429, message=message), 429


@bp.get("/shows/<int:show_id>/replay")
def replay(show_id):
    show = visible_show(show_id, current_user)
    if show.status != ShowStatus.ended:
        return redirect(url_for(".room", show_id=show.id))
    g.csp_live = True
    rows = db.session.execute(select(Pin, LineupItem).join(LineupItem, LineupItem.id == Pin.item_id)
                              .where(Pin.show_id == show.id).order_by(Pin.pinned_at, Pin.id)).all()
    begin = show.started_at or show.starts_at
    timeline = [{"item": item, "pinned_at": pin.pinned_at,
                 "offset": max(int((pin.pinned_at - begin).total_seconds()), 0),
                 "clock": _clock(pin.pinned_at - begin)} for pin, item in rows]
    return render_template("livestream/replay.html", show=show, timeline=timeline,
                           can_report=may_see_report(show, current_user),
                           hls_version=hls_version() if is_hls(show.replay_url) else None)


def _clock(delta: timedelta) -> str:
    seconds = max(int(delta.total_seconds()), 0)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


@bp.get("/shows/<int:show_id>/report")
@login_required
def report(show_id):
    show = report_show(show_id, current_user)
    return render_template("livestream/report.html", show=show, r=show_report(show))


@bp.get("/vendor/hls.min.js")
def hls_js():
    """hls.js from node_modules (installed by `npm ci`, never copied into the repository)."""
    if not os.path.exists(HLS_BUILD):
        abort(404)
    g.vary_cookie = False
    return send_file(HLS_BUILD, mimetype="text/javascript", max_age=31536000)
