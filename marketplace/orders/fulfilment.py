"""Who may see an order, and shipping and delivery."""
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..coops.models import MemberRole
from ..coops.services import ensure_member, membership_of, staff_covers
from ..core.db import utcnow
from ..core.errors import Conflict, Forbidden, NotFound
from ..core.validation import Checker
from ..extensions import db
from . import lifecycle
from .models import Order, OrderStatus
from .notify import tell_buyer

SELLERS = (MemberRole.owner, MemberRole.manager)
AUTO_DELIVER_AFTER = timedelta(days=14)


def visible_order(order_id, user) -> Order:
    """The buyer's own order, an order of the user's cooperative, or, for staff, an
    order of a cooperative in their counties (coops.services.staff_covers). Anything
    else is 404, so order numbers reveal nothing."""
    order = db.session.get(Order, order_id) if isinstance(order_id, int) else None
    if order is None or not (order.buyer_id == getattr(user, "id", None) or membership_of(user, order.cooperative)
                             or staff_covers(user, order.cooperative.county)):
        raise NotFound(_l("No such order."))
    return order


def seller_order(order_id, user) -> Order:
    order = visible_order(order_id, user)
    if not staff_covers(user, order.cooperative.county):
        ensure_member(user, order.cooperative, SELLERS)
    return order


def ship(user, order: Order, data: dict) -> Order:
    ensure_member(user, order.cooperative, SELLERS)
    c = Checker(data)
    c.text("carrier", max_len=60)
    c.text("tracking_no", min_len=4, max_len=60)
    clean = c.done()
    if order.shipped_at is not None:  # (a shipped, partly refunded order may not "ship" again)
        raise Conflict(_l("This order has already been shipped."), code="invalid_transition")
    lifecycle.move(order, OrderStatus.shipped, user, note=f"{clean['carrier']} {clean['tracking_no']}")
    order.carrier, order.tracking_no, order.shipped_at = clean["carrier"], clean["tracking_no"], utcnow()
    tell_buyer(order, f"{order.carrier} {order.tracking_no}")
    return order


def deliver(user, order: Order, automatic: bool = False) -> Order:
    if not automatic and order.buyer_id != getattr(user, "id", None):
        raise Forbidden(_l("Only the buyer confirms delivery."), code="buyer_only")
    if order.shipped_at is None or order.delivered_at is not None:
        raise Conflict(_l("Only a shipped order that has not arrived yet can be confirmed."),
                       code="not_shipped")
    lifecycle.move(order, OrderStatus.delivered, user, note="automatic after 14 days" if automatic else "")
    order.delivered_at = utcnow()
    tell_buyer(order)
    return order


def auto_deliver(now=None) -> int:
    """Complete orders shipped more than 14 days ago that the buyer never confirmed."""
    cutoff = (now or utcnow()) - AUTO_DELIVER_AFTER
    due = db.session.scalars(select(Order).where(
        Order.status.in_([OrderStatus.shipped, OrderStatus.partially_refunded]),
        Order.shipped_at.is_not(None), Order.shipped_at <= cutoff, Order.delivered_at.is_(None))).all()
    for order in due:
        deliver(None, order, automatic=True)
    return len(due)
