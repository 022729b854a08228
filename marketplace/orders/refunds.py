"""Refund plans (which lines, how much) and applying a refund once the payment
provider has returned the money. The provider call itself lives in payments."""
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l

from ..core import audit
from ..core.errors import Conflict, Invalid
from ..extensions import db
from . import lifecycle, stock
from .events import order_refunded
from .models import OrderStatus, Refund
from .notify import tell_buyer

REFUNDABLE = {OrderStatus.paid, OrderStatus.shipped, OrderStatus.delivered, OrderStatus.partially_refunded}


@dataclass
class RefundPlan:
    amount_fen: int
    #: [{"order_line_id", "quantity", "amount_fen"}]
    lines: list = field(default_factory=list)


def plan_refund(order, lines=None, amount_fen=None) -> RefundPlan:
    """By lines ([{"order_line_id", "quantity"}]) or by an amount in fen spread over
    the lines in order. Never more than was paid and not yet refunded."""
    if order.status not in REFUNDABLE:
        raise Conflict(_l("Only a paid order can be refunded."), code="not_refundable")
    if (lines is None) == (amount_fen is None):
        raise Invalid(_l("Refund either lines or an amount."), code="invalid_refund")
    plan = _by_lines(order, lines) if lines is not None else _by_amount(order, amount_fen)
    if plan.amount_fen <= 0:
        raise Invalid(_l("Nothing to refund."), code="invalid_refund")
    return plan


def _by_lines(order, wanted) -> RefundPlan:
    by_id = {line.id: line for line in order.lines}
    plan = RefundPlan(0)
    for item in wanted or []:
        line = by_id.get(item.get("order_line_id")) if isinstance(item, dict) else None
        quantity = item.get("quantity") if isinstance(item, dict) else None
        if line is None:
            raise Invalid(_l("That line is not part of this order."), code="invalid_refund")
        if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= line.quantity - line.refunded_quantity:
            raise Invalid(_l("Refund 1 to %(n)d of “%(title)s”.", n=line.quantity - line.refunded_quantity,
                             title=line.title), code="invalid_refund")
        amount = min(line.unit_price_fen * quantity, line.line_total_fen - line.refunded_fen)
        plan.lines.append({"order_line_id": line.id, "quantity": quantity, "amount_fen": amount})
        plan.amount_fen += amount
    return plan


def _by_amount(order, amount_fen) -> RefundPlan:
    """Spread over the lines in order; units stay unrefunded (nothing is restocked)
    unless the amount is all that is left of the order."""
    remaining = order.subtotal_fen - order.refunded_fen
    if isinstance(amount_fen, bool) or not isinstance(amount_fen, int) or not 1 <= amount_fen <= remaining:
        raise Invalid(_l("Refund from ¥0.01 up to what is left of the order."), code="invalid_refund")
    everything = amount_fen == remaining  # then every unit not refunded yet goes back too
    plan, left = RefundPlan(amount_fen), amount_fen
    for line in order.lines:
        take = min(left, line.line_total_fen - line.refunded_fen)
        units = line.quantity - line.refunded_quantity if everything else 0
        if take or units:
            plan.lines.append({"order_line_id": line.id, "quantity": units, "amount_fen": take})
            left -= take
    return plan


def apply_refund(actor, order, plan: RefundPlan, provider_refund_id: str | None, reason: str = "") -> Refund:
    """Book a refund the provider has made: lines, order total, status, stock (only
    for goods not shipped yet), timeline, audit, the households' reversal signal."""
    by_id = {line.id: line for line in order.lines}
    restock = order.shipped_at is None
    for item in plan.lines:
        line = by_id[item["order_line_id"]]
        line.refunded_quantity += item["quantity"]
        line.refunded_fen += item["amount_fen"]
        if restock and item["quantity"]:
            stock.give_back_units(order, line, item["quantity"])
    order.refunded_fen += plan.amount_fen
    refund = Refund(order_id=order.id, amount_fen=plan.amount_fen, lines=plan.lines, restocked=restock,
                    provider_refund_id=provider_refund_id, actor_id=getattr(actor, "id", None), reason=reason[:200])
    db.session.add(refund)
    db.session.flush()
    target = OrderStatus.refunded if order.refunded_fen == order.subtotal_fen else OrderStatus.partially_refunded
    lifecycle.move(order, target, actor, note=reason)
    audit.record(actor, "order.refund", order, after={"refund_id": refund.id, "amount_fen": plan.amount_fen,
                                                      "lines": plan.lines})
    order_refunded.send(order, refund=refund)
    tell_buyer(order)
    return refund
