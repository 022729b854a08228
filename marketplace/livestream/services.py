"""Show verbs: schedule, reschedule, cancel, start, end, pin, quota; with the checks
the issue asks for (no past start, end after start, at most 12 hours, no overlap
for a host, only the cooperative's own products, live price <= regular price,
quota <= stock)."""
from datetime import datetime, timedelta

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import case, or_, select, update

from ..catalog.models import Product
from ..coops.models import MemberRole
from ..coops.services import ensure_member
from ..core import audit
from ..core.db import utcnow
from ..core.errors import Conflict, Invalid, NotFound
from ..core.validation import Checker
from ..extensions import db
from ..orders import stock
from .events import emit, stock_data
from .models import LineupItem, Pin, Show, ShowStatus, StreamKind

HOSTS = (MemberRole.owner, MemberRole.manager, MemberRole.host)
MAX_LENGTH = timedelta(hours=12)
EARLY_START = timedelta(minutes=30)  #: a host may go live this long before the scheduled start


def _when(raw, field):
    if isinstance(raw, datetime):
        value = raw
    else:
        try:
            value = datetime.fromisoformat(str(raw or "").strip().replace("Z", "+00:00"))
        except ValueError:
            raise Invalid(_l("Enter a date and time with its offset, e.g. 2026-12-01T20:00:00+08:00."),
                          fields={field: [_l("Enter a date and time with its offset.")]}) from None
    if value.tzinfo is None:
        raise Invalid(_l("Give the time zone offset, e.g. +08:00."), fields={field: [_l("Give the time zone offset.")]})
    return value.astimezone(utcnow().tzinfo).replace(microsecond=0)  # whole seconds, as in the .ics


def check_times(starts_at, ends_at, now=None) -> None:
    now = now or utcnow()
    if starts_at <= now:
        raise Invalid(_l("The show cannot start in the past."), code="start_in_past",
                      fields={"starts_at": [_l("The show cannot start in the past.")]})
    if ends_at <= starts_at:
        raise Invalid(_l("The end must be after the start."), code="end_before_start",
                      fields={"ends_at": [_l("The end must be after the start.")]})
    if ends_at - starts_at > MAX_LENGTH:
        raise Invalid(_l("A show lasts at most 12 hours."), code="too_long",
                      fields={"ends_at": [_l("A show lasts at most 12 hours.")]})


def _check_fields(data) -> dict:
    c = Checker(data)
    c.text("title", min_len=2, max_len=120)
    c.text("description", max_len=3000, required=False, multiline=True)
    c.text("stream_url", min_len=8, max_len=500)
    c.text("replay_url", max_len=500, required=False, default=None)
    clean = c.done()
    url = clean["stream_url"]
    if not is_https(url):
        raise Invalid(_l("The stream address must start with https://."), fields={"stream_url": [
            _l("The stream address must start with https://.")]})
    if clean["replay_url"] and not is_https(clean["replay_url"]):
        raise Invalid(_l("The replay address must start with https://."), fields={"replay_url": [
            _l("The replay address must start with https://.")]})
    clean["stream_kind"] = StreamKind.hls if url.split("?")[0].endswith(".m3u8") else StreamKind.embed
    return clean


def is_https(url) -> bool:
    """Streams and replays are https only: the room's Content-Security-Policy admits
    media, fetches and frames from https: sources (and 'self'), and an https page
    may not load plain-http media anyway."""
    return isinstance(url, str) and url.lower().startswith("https://") and len(url) > len("https://")


def _check_overlap(host_id, starts_at, ends_at, exclude_id=None):
    q = select(Show.id).where(Show.host_id == host_id, Show.status.in_([ShowStatus.scheduled, ShowStatus.live]),
                              Show.starts_at < ends_at, Show.ends_at > starts_at)
    if exclude_id:
        q = q.where(Show.id != exclude_id)
    if db.session.scalar(q.limit(1)):
        raise Conflict(_l("You already host another show at that time."), code="overlapping_show")


def schedule(user, coop, data: dict, items: list[dict]) -> Show:
    ensure_member(user, coop, HOSTS)
    clean = _check_fields(data)
    starts_at, ends_at = _when(data.get("starts_at"), "starts_at"), _when(data.get("ends_at"), "ends_at")
    check_times(starts_at, ends_at)
    _check_overlap(user.id, starts_at, ends_at)
    show = Show(cooperative_id=coop.id, host_id=user.id, starts_at=starts_at, ends_at=ends_at, **clean)
    db.session.add(show)
    db.session.flush()
    for position, item in enumerate(items or []):
        add_item(show, item, position)
    audit.record(user, "show.schedule", show, after={"title": show.title, "starts_at": starts_at.isoformat(),
                                                     "items": [i.product_id for i in show.items]})
    return show


def add_item(show: Show, item: dict, position: int) -> LineupItem:
    c = Checker(item if isinstance(item, dict) else {})
    c.integer("product_id", minimum=1, maximum=2**31 - 1)
    c.integer("live_price_fen", minimum=1, maximum=10_000_000)
    c.integer("quota", minimum=1, maximum=100_000)
    c.integer("per_buyer_limit", minimum=1, maximum=1000, required=False)
    clean = c.done()
    product = db.session.get(Product, clean["product_id"])
    if product is None or product.cooperative_id != show.cooperative_id:
        raise Invalid(_l("Only your cooperative's own products can be in the lineup."), code="not_your_product",
                      fields={"product_id": [str(clean["product_id"])]})
    if clean["live_price_fen"] > product.price_fen:
        raise Invalid(_l("The live price of “%(title)s” is above its regular price.", title=product.title),
                      code="live_price_too_high")
    if not stock.take_stock(product.id, clean["quota"]):
        raise Conflict(_l("The quota for “%(title)s” is more than its stock.", title=product.title),
                       code="quota_above_stock")
    line = LineupItem(show_id=show.id, position=position, **clean)
    db.session.add(line)
    db.session.flush()
    return line


def get_show(show_id) -> Show:
    show = db.session.get(Show, show_id) if isinstance(show_id, int) else None
    if show is None:
        raise NotFound(_l("No such show."))
    return show


def _host_check(user, show):
    """Only the show's own cooperative (owner, manager or host) runs it."""
    ensure_member(user, show.cooperative, HOSTS)


def _status(user, show, allowed_from, target, action):
    _host_check(user, show)
    if show.status not in allowed_from:
        raise Conflict(_l("A %(status)s show cannot do that.", status=gettext(show.status.value)), code="invalid_transition")
    before = show.status.value
    show.status = target
    audit.record(user, f"show.{action}", show, before={"status": before}, after={"status": target.value})
    emit(show, "status", {"status": target.value})


def reschedule(user, show, starts_at, ends_at) -> Show:
    _host_check(user, show)
    if show.status != ShowStatus.scheduled:
        raise Conflict(_l("Only a scheduled show can be moved."), code="invalid_transition")
    starts_at, ends_at = _when(starts_at, "starts_at"), _when(ends_at, "ends_at")
    check_times(starts_at, ends_at)
    _check_overlap(show.host_id, starts_at, ends_at, exclude_id=show.id)
    before = {"starts_at": show.starts_at.isoformat(), "ends_at": show.ends_at.isoformat()}
    show.starts_at, show.ends_at = starts_at, ends_at
    audit.record(user, "show.reschedule", show, before=before,
                 after={"starts_at": starts_at.isoformat(), "ends_at": ends_at.isoformat()})
    from .reminders import tell_subscribers
    tell_subscribers(show, "rescheduled")
    return show


def cancel(user, show) -> Show:
    _status(user, show, {ShowStatus.scheduled}, ShowStatus.cancelled, "cancel")
    _return_unsold(show)
    from .reminders import tell_subscribers
    tell_subscribers(show, "cancelled")
    return show


def start(user, show, now=None) -> Show:
    now = now or utcnow()
    if now < show.starts_at - EARLY_START:
        raise Conflict(_l("The show can start at most 30 minutes early."), code="too_early")
    if now >= show.ends_at and show.status == ShowStatus.scheduled:
        # the live price is honoured only until ends_at: a show started now could sell nothing at it
        raise Conflict(_l("The show's scheduled end has passed. Change its time to go live."), code="too_late")
    _status(user, show, {ShowStatus.scheduled}, ShowStatus.live, "start")
    show.started_at = now
    return show


def end(user, show, now=None) -> Show:
    _status(user, show, {ShowStatus.live}, ShowStatus.ended, "end")
    _wind_up(show, now or utcnow())
    return show


def _wind_up(show, when):
    show.ended_at = when
    _close_pin(show, when)
    _return_unsold(show)


def end_overdue(now=None) -> list[int]:
    """Live shows whose scheduled end has passed end by themselves (the live price ended
    with the schedule anyway): as if the host had pressed "end", with a status event that
    tells the room. A guarded update claims each show, so a host ending it at the same
    moment, or a second run, ends it once. Returns the ids ended."""
    now = now or utcnow()
    overdue = db.session.scalars(select(Show.id).where(Show.status == ShowStatus.live, Show.ends_at <= now)
                                 .order_by(Show.id)).all()
    ended = []
    for show_id in overdue:
        if not db.session.execute(update(Show).where(Show.id == show_id, Show.status == ShowStatus.live)
                                  .values(status=ShowStatus.ended).execution_options(synchronize_session=False)
                                  ).rowcount:
            continue
        show = db.session.get(Show, show_id)
        db.session.refresh(show)
        _wind_up(show, now)
        audit.record(None, "show.end", show, before={"status": ShowStatus.live.value},
                     after={"status": ShowStatus.ended.value, "reason": "scheduled end passed"})
        emit(show, "status", {"status": ShowStatus.ended.value})
        db.session.commit()  # each show on its own: one that fails leaves the others ended
        ended.append(show_id)
    return ended


def _return_unsold(show):
    """Quota nobody bought goes back to the product's stock, once: the guarded
    update only matches while quota and sold are what we read."""
    for item in show.items:
        unsold = item.quota - item.sold
        if unsold > 0 and db.session.execute(
                update(LineupItem).where(LineupItem.id == item.id, LineupItem.quota == item.quota,
                                         LineupItem.sold == item.sold).values(quota=LineupItem.sold)
                .execution_options(synchronize_session=False)).rowcount:
            stock.return_stock(item.product_id, unsold)
        db.session.refresh(item)


def current_pin(show) -> Pin | None:
    return db.session.scalar(select(Pin).where(Pin.show_id == show.id, Pin.unpinned_at.is_(None))
                             .order_by(Pin.id.desc()).limit(1))


def _close_pin(show, when):
    pin = current_pin(show)
    if pin:
        pin.unpinned_at = when


def pin(user, show, product_id) -> Pin | None:
    """Pin a lineup product (or unpin with product_id None) while the show is live."""
    _host_check(user, show)
    if show.status != ShowStatus.live:
        raise Conflict(_l("Pin products while the show is live."), code="not_live")
    item = next((i for i in show.items if i.product_id == product_id), None)
    if product_id is not None and item is None:
        raise Invalid(_l("That product is not in this show's lineup."), code="not_in_lineup")
    now = utcnow()
    _close_pin(show, now)
    if item is None:
        emit(show, "pin", {"product_id": None})
        return None
    record = Pin(show_id=show.id, item_id=item.id, pinned_at=now)
    db.session.add(record)
    emit(show, "pin", item_card(item))
    audit.record(user, "show.pin", show, after={"product_id": product_id})
    return record


def item_card(item) -> dict:
    p = item.product
    from ..core.storage import image_urls
    return {"product_id": p.id, "title": p.title, "unit": p.unit, "price_fen": p.price_fen,
            "live_price_fen": item.live_price_fen, "remaining": item.remaining, "per_buyer_limit": item.per_buyer_limit,
            "image_urls": image_urls(p.cover_key)}


def adjust_quota(user, show, product_id, new_quota: int) -> LineupItem:
    """Raise or lower a live quota before or during the show; the difference comes
    from or goes back to stock. After the show the unsold quota is already back in
    stock (and a cancelled show's too), so a change then would create or lose units."""
    _host_check(user, show)
    if show.status not in (ShowStatus.scheduled, ShowStatus.live):
        raise Conflict(_l("Quotas can change only before and during the show."), code="show_over")
    item = next((i for i in show.items if i.product_id == product_id), None)
    if item is None:
        raise Invalid(_l("That product is not in this show's lineup."), code="not_in_lineup")
    if not isinstance(new_quota, int) or isinstance(new_quota, bool) or new_quota < item.sold or new_quota > 100_000:
        raise Invalid(_l("The quota cannot be below what is already sold (%(n)d).", n=item.sold), code="invalid_quota")
    delta = new_quota - item.quota
    if delta > 0 and not stock.take_stock(item.product_id, delta):
        raise Conflict(_l("Not enough stock to raise the quota."), code="quota_above_stock")
    # guarded: a sale between our read and this write must not push sold above the new quota
    if not db.session.execute(update(LineupItem).where(
            LineupItem.id == item.id, LineupItem.quota == item.quota, LineupItem.sold <= new_quota)
            .values(quota=new_quota).execution_options(synchronize_session=False)).rowcount:
        raise Conflict(_l("Someone bought while you typed. Reload and try again."), code="quota_changed")
    if delta < 0:
        stock.return_stock(item.product_id, -delta)
    db.session.refresh(item)
    emit(show, "stock", stock_data(item))
    return item


def upcoming_and_live(limit=12):
    """The home page's shows: live ones first, then the next to start; only of
    verified cooperatives (the others' show pages are not public)."""
    from ..coops.models import CoopStatus, Cooperative

    now = utcnow()
    live_first = case((Show.status == ShowStatus.live, 0), else_=1)
    return db.session.scalars(select(Show).join(Cooperative, Cooperative.id == Show.cooperative_id).where(
        Cooperative.status == CoopStatus.verified, or_(
            Show.status == ShowStatus.live,
            (Show.status == ShowStatus.scheduled) & (Show.ends_at > now)))
        .order_by(live_first, Show.starts_at, Show.id).limit(limit)).all()
