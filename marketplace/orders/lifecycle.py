"""The order state machine: an explicit table of legal moves, and the one function
that makes a move (with its timeline event and audit record)."""
from flask_babel import lazy_gettext as _l

from ..core import audit
from ..core.errors import Conflict
from ..extensions import db
from .models import OrderEvent, OrderStatus as S

#: from-status -> statuses an order may move to
TRANSITIONS = {
    S.pending_payment: {S.paid, S.cancelled},
    S.paid: {S.shipped, S.partially_refunded, S.refunded},
    S.partially_refunded: {S.shipped, S.delivered, S.partially_refunded, S.refunded},
    S.shipped: {S.delivered, S.partially_refunded, S.refunded},
    S.delivered: {S.partially_refunded, S.refunded},
    S.cancelled: set(),
    S.refunded: set(),
}


def can_move(order, target: S) -> bool:
    return target in TRANSITIONS[order.status]


def move(order, target: S, actor=None, note: str = "") -> None:
    """Change the order's status or raise Conflict (409) with a clear message."""
    if not can_move(order, target):
        raise Conflict(_l("An order that is %(status)s cannot become %(target)s.",
                          status=order.status.value, target=target.value), code="invalid_transition")
    before = order.status.value
    order.status = target
    db.session.add(OrderEvent(order_id=order.id, status=target, actor_id=getattr(actor, "id", None), note=note))
    audit.record(actor, f"order.{target.value}", order, before={"status": before},
                 after={"status": target.value, **({"note": note} if note else {})})
