"""Live shows: list, schedule, start, end, pin, chat, reminders, the room's event
stream (Server-Sent Events with Last-Event-ID resume) and the show's report."""
from flask import current_app, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_smorest import Blueprint
from sqlalchemy import func, select

from ..coops import services as coops
from ..coops.models import CoopStatus, Cooperative
from ..core.db import utcnow
from ..core.errors import Conflict
from ..core.storage import image_urls
from ..extensions import db, limiter
from ..livestream import chat, reminders, services
from ..livestream.models import Show, ShowStatus
from ..livestream.report import report_show, show_report, visible_show
from ..livestream.stream import admitted, open_room_stream
from .common import BEARER, api_user, list_envelope, require_user
from .live_schemas import (ChatIn, ChatMessageSchema, LivestreamIn, LivestreamListQuery, LivestreamSchema, PinIn,
                           ReminderSchema, ReportSchema, ROOM_EVENT)

blp = Blueprint("livestreams_api", __name__, description="Live shows")
STATUSES = {"upcoming": ShowStatus.scheduled, "live": ShowStatus.live, "ended": ShowStatus.ended}


def show_dict(show) -> dict:
    pin = services.current_pin(show) if show.status == ShowStatus.live else None
    pinned = next((i.product_id for i in show.items if pin and i.id == pin.item_id), None)
    return {"id": show.id, "cooperative_id": show.cooperative_id, "cooperative_name": show.cooperative.name,
            "title": show.title, "description": show.description, "cover_urls": image_urls(show.cover_key),
            "status": show.status.value, "starts_at": show.starts_at, "ends_at": show.ends_at,
            "started_at": show.started_at, "ended_at": show.ended_at, "stream_kind": show.stream_kind.value,
            "stream_url": show.stream_url, "replay_url": show.replay_url, "pinned_product_id": pinned,
            "items": [{**services.item_card(i), "quota": i.quota, "sold": i.sold} for i in show.items],
            "page_url": url_for("livestream.room", show_id=show.id),
            "ics_url": url_for("livestream.ics", show_id=show.id),
            "events_url": url_for("livestreams_api.events", show_id=show.id)}


@blp.route("/livestreams", methods=["GET"])
@blp.arguments(LivestreamListQuery, location="query")
@blp.response(200, list_envelope(LivestreamSchema))
def list_livestreams(args):
    stmt = select(Show).join(Cooperative, Cooperative.id == Show.cooperative_id).where(
        Cooperative.status == CoopStatus.verified)
    status = STATUSES.get(args.get("status"))
    if status is None:
        stmt = stmt.where(Show.status != ShowStatus.cancelled)
    else:
        stmt = stmt.where(Show.status == status)
    if status == ShowStatus.scheduled:
        stmt = stmt.where(Show.ends_at > utcnow())
    if args.get("cooperative_id"):
        stmt = stmt.where(Show.cooperative_id == args["cooperative_id"])
    order = Show.ended_at.desc() if status == ShowStatus.ended else Show.starts_at
    stmt = stmt.order_by(order, Show.id)
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    page, per_page = args["page"], args["per_page"]
    shows = db.session.scalars(stmt.limit(per_page).offset((page - 1) * per_page)).all()
    return {"items": [show_dict(s) for s in shows], "page": page, "per_page": per_page, "total": total}


@blp.route("/cooperatives/<int:coop_id>/livestreams", methods=["POST"])
@blp.arguments(LivestreamIn)
@blp.response(201, LivestreamSchema)
@blp.doc(security=BEARER)
def schedule(body, coop_id):
    user = require_user()
    coop = coops.get_cooperative(coop_id if coop_id < 2**31 else -1, user)
    items = body.pop("items", [])
    show = services.schedule(user, coop, body, items)
    db.session.commit()
    return show_dict(show)


@blp.route("/livestreams/<int:show_id>", methods=["GET"])
@blp.response(200, LivestreamSchema)
def get_livestream(show_id):
    return show_dict(visible_show(show_id, api_user()))


def _run(show_id, verb):
    user = require_user()
    show = visible_show(show_id, user)
    verb(user, show)
    db.session.commit()
    return show_dict(show)


@blp.route("/livestreams/<int:show_id>/start", methods=["POST"])
@blp.response(200, LivestreamSchema)
@blp.doc(security=BEARER, description="The cooperative's owner, manager or host; from 30 minutes before the start.")
def start(show_id):
    return _run(show_id, services.start)


@blp.route("/livestreams/<int:show_id>/end", methods=["POST"])
@blp.response(200, LivestreamSchema)
@blp.doc(security=BEARER, description="Ends the show; unsold live quota goes back to stock.")
def end(show_id):
    return _run(show_id, services.end)


@blp.route("/livestreams/<int:show_id>/pin", methods=["POST"])
@blp.arguments(PinIn)
@blp.response(200, LivestreamSchema)
@blp.doc(security=BEARER, description="Pin a lineup product while live; product_id null unpins.")
def pin(body, show_id):
    return _run(show_id, lambda user, show: services.pin(user, show, body["product_id"]))


def _chat_key():
    try:
        user = api_user()
    except Exception:  # noqa: BLE001 - a bad token is refused by the view itself
        user = None
    return f"live-chat:user:{user.id}" if user else f"live-chat:ip:{request.remote_addr}"


@blp.route("/livestreams/<int:show_id>/chat", methods=["POST"])
@limiter.limit(lambda: current_app.config["CHAT_RATE_LIMIT"], key_func=_chat_key)
@blp.arguments(ChatIn)
@blp.response(201, ChatMessageSchema)
@blp.doc(security=BEARER)
def post_chat(body, show_id):
    user = require_user()
    show = visible_show(show_id, user)
    message = chat.post(user, show, body["body"])
    db.session.commit()
    return chat.message_dict(message, user.display_name)


@blp.route("/livestreams/<int:show_id>/reminders", methods=["POST"])
@blp.response(201, ReminderSchema)
@blp.doc(security=BEARER, description="Subscribe me: a mail shortly before the start (idempotent).")
def subscribe(show_id):
    user = require_user()
    show = visible_show(show_id, user)
    if show.status != ShowStatus.scheduled:
        raise Conflict(_l("Reminders are only for shows that have not started."), code="not_scheduled")
    reminder = reminders.subscribe(user, show)
    db.session.commit()
    return {"show_id": show.id, "subscribed": True, "created_at": reminder.created_at, "sent_at": reminder.sent_at}


def _last_event_id():
    raw = (request.headers.get("Last-Event-ID") or request.args.get("last_event_id") or "").strip()
    return int(raw) if raw.isdigit() and len(raw) < 12 else None


def _max_seconds():
    """Tests read a bounded stream; production streams until the viewer leaves."""
    if not current_app.testing:
        return None
    try:
        return min(max(float(request.args.get("max_seconds", "")), 0.0), 30.0)
    except ValueError:
        return None


@blp.route("/livestreams/<int:show_id>/events", methods=["GET"])
@blp.response(200, ROOM_EVENT, content_type="text/event-stream",
              description="Server-Sent Events: `pin`, `stock`, `chat`, `status`, `viewers`, each with an `id:`; "
                          "`connection` (`{\"state\": \"delayed\"}` or `\"live\"`) while this server cannot hear "
                          "the others (Redis down) and when it can again. Send `Last-Event-ID` (header, or `?last_event_id=`) to resume without loss.")
@admitted  # a crowd of viewers queues for the database in stream.py, not at the pool
def events(show_id):
    # EventSource sends the session cookie, not a token: the signed-in member of a cooperative
    # not verified yet still follows its own show; the cookie only reads, it changes nothing
    user = api_user() or (current_user if current_user.is_authenticated else None)
    return open_room_stream(show_id, user, _last_event_id(), _max_seconds(), counted=not request.args.get("console"))


@blp.route("/livestreams/<int:show_id>/report", methods=["GET"])
@blp.response(200, ReportSchema)
@blp.doc(security=BEARER, description="The cooperative's members and programme staff; others get 404.")
def report(show_id):
    return show_report(report_show(show_id, require_user()))
