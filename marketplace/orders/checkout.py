"""Placing a checkout (one payment, one order per cooperative), and what happens
to its reservation: paid, cancelled, failed or expired."""
import enum

from sqlalchemy import select, update

from ..core.db import utcnow
from ..extensions import db
from . import lifecycle, placing, stock
from .events import order_paid
from .models import Checkout, CheckoutStatus, OrderStatus
from .notify import tell_buyer
from .placing import MAX_LINES, MAX_QUANTITY, WantedLine, check_address  # noqa: F401 (this module's API)

def place_checkout(buyer, wanted: list[WantedLine], address: dict, provider: str) -> Checkout:
    """Reserve stock and create the checkout with its orders (placing.place), and
    return it as the ORM object the pages work with. Raises before writing anything
    the caller would keep: on error the caller rolls the transaction back."""
    placed = placing.place(buyer, wanted, address, provider)
    return db.session.get(Checkout, placed.id)


# --- the reservation ends ------------------------------------------------------

def cancel_checkout(checkout: Checkout, reason: str, actor=None, notify: bool = True) -> bool:
    """Cancel an unpaid checkout and give its stock back. Returns False when it was
    no longer pending (already paid or cancelled): a guarded, one-time change.
    `notify=False` when the caller mails the buyer itself (a refunded payment)."""
    changed = db.session.execute(
        update(Checkout).where(Checkout.id == checkout.id, Checkout.status == CheckoutStatus.pending_payment)
        .values(status=CheckoutStatus.cancelled, cancelled_at=utcnow(), cancel_reason=reason)
        .execution_options(synchronize_session=False)).rowcount
    if not changed:
        return False
    db.session.refresh(checkout)
    for order in checkout.orders:
        _give_back(order)
        lifecycle.move(order, OrderStatus.cancelled, actor, note=reason)
        if notify:
            tell_buyer(order)
    return True


def _give_back(order) -> None:
    for line in order.lines:
        stock.give_back_units(order, line, line.quantity)


def expire_reservations(now=None) -> int:
    """Cancel every checkout whose reservation ran out; returns how many."""
    now = now or utcnow()
    due = db.session.scalars(select(Checkout).where(
        Checkout.status == CheckoutStatus.pending_payment, Checkout.expires_at <= now)).all()
    return sum(cancel_checkout(c, "expired") for c in due)


class PaidResult(enum.Enum):
    paid = "paid"
    already_paid = "already_paid"
    needs_refund = "needs_refund"  # paid after the reservation ended and the stock is gone


def mark_paid(checkout: Checkout) -> PaidResult:
    """Record that the checkout's money arrived (the payment provider's own event).
    A payment for an expired checkout takes the stock again if it is still there."""
    changed = db.session.execute(
        update(Checkout).where(Checkout.id == checkout.id, Checkout.status == CheckoutStatus.pending_payment)
        .values(status=CheckoutStatus.paid, paid_at=utcnow()).execution_options(synchronize_session=False)).rowcount
    # what the UPDATE wrote; the orders as they are now only when it found the checkout
    # paid or ended by someone else (then they are what decides)
    db.session.refresh(checkout, ["status", "paid_at"] if changed else None)
    if not changed:
        if checkout.status == CheckoutStatus.paid:
            return PaidResult.already_paid
        if not _retake_stock(checkout):
            return PaidResult.needs_refund
        checkout.status, checkout.paid_at = CheckoutStatus.paid, utcnow()
    for order in checkout.orders:
        _mark_order_paid(order)
    return PaidResult.paid


def _retake_stock(checkout) -> bool:
    """Re-reserve a cancelled checkout's lines, all or nothing (in a savepoint)."""
    try:
        with db.session.begin_nested():
            for order in checkout.orders:
                for line in order.lines:
                    if not stock.take_stock(line.product_id, line.quantity):
                        raise _NoStock()
                    stock.count_for_buyer(order.buyer_id, line.product_id, line.quantity, None)
                order.status = OrderStatus.pending_payment  # revived; paid next
    except _NoStock:
        return False
    return True


class _NoStock(Exception):
    pass


def _mark_order_paid(order) -> None:
    order.paid_at = utcnow()
    lifecycle.move(order, OrderStatus.paid)
    order_paid.send(order, lines=list(order.lines))
    tell_buyer(order)
