"""Placing a checkout (one payment, one order per cooperative), and what happens
to its reservation: paid, cancelled, failed or expired."""
import enum
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.orm import joinedload

from ..catalog.models import Product, ProductStatus
from ..coops.models import CoopStatus
from ..core import audit
from ..core.db import utcnow
from ..core.errors import Conflict, Invalid
from ..core.validation import Checker
from ..extensions import db
from . import lifecycle, pricing, stock
from .events import order_paid
from .models import Checkout, CheckoutStatus, Order, OrderLine, OrderStatus
from .notify import tell_buyer

MAX_QUANTITY = 999  #: per line; more than this is a typo, not a purchase
MAX_LINES = 50


@dataclass
class WantedLine:
    product_id: int
    quantity: int
    livestream_id: int | None = None
    #: the unit price the buyer was shown, in fen; a different current price is refused
    seen_price_fen: int | None = None


def check_address(data) -> dict:
    c = Checker(data if isinstance(data, dict) else {})
    c.text("name", max_len=80)
    c.text("phone", min_len=5, max_len=32)
    c.text("province", max_len=40)
    c.text("city", max_len=60)
    c.text("address", min_len=4, max_len=200)
    return c.done()


def _merge(lines: list[WantedLine]) -> list[WantedLine]:
    if not lines:
        raise Invalid(_l("The cart is empty."), code="empty_cart")
    if len(lines) > MAX_LINES:
        raise Invalid(_l("At most %(n)d different products per order.", n=MAX_LINES), code="too_many_lines")
    merged: dict[tuple, WantedLine] = {}
    for line in lines:
        _check_quantity(line)
        key = (line.product_id, line.livestream_id)
        if key in merged:
            merged[key].quantity += line.quantity
        else:
            merged[key] = WantedLine(**vars(line))
    for line in merged.values():  # after merging: two lines of 600 are one line of 1200
        _check_quantity(line)
    return sorted(merged.values(), key=lambda w: w.product_id)  # one lock order: no deadlocks


def _check_quantity(line: WantedLine) -> None:
    quantity = line.quantity
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= MAX_QUANTITY:
        raise Invalid(_l("Quantities are whole numbers from 1 to %(n)d.", n=MAX_QUANTITY), code="invalid_quantity",
                      fields={"product_id": [str(line.product_id)]})


def _load_products(lines) -> dict[int, Product]:
    ids = {w.product_id for w in lines}
    products = db.session.scalars(select(Product).where(Product.id.in_(ids))
                                  .options(joinedload(Product.cooperative))
                                  .execution_options(populate_existing=True)).all()  # stock as committed now
    found = {p.id: p for p in products}
    for w in lines:
        p = found.get(w.product_id)
        if p is None or p.status != ProductStatus.active or p.cooperative.status != CoopStatus.verified:
            raise Invalid(_l("A product in your cart is no longer for sale."), code="product_unavailable",
                          fields={"product_id": [str(w.product_id)]})
        if w.seen_price_fen is not None and w.seen_price_fen != p.price_fen:
            raise Conflict(_l("The price of “%(title)s” changed. Please check your cart.", title=p.title),
                           code="price_changed")
    return found


def _not_enough(product) -> Conflict:
    return Conflict(_l("Not enough “%(title)s” left.", title=product.title), code="insufficient_stock")


def _price_lines(buyer, lines, products) -> dict:
    """The unit price of each line: the live show's (its quota taken now) or the
    product's. Regular lines count against the buyer's per-product limit here; their
    stock is taken last, by _take_stock."""
    prices = {}
    for w in lines:
        product = products[w.product_id]
        live_price = pricing.take_live(buyer, w, product)
        if live_price is not None:
            prices[id(w)] = live_price
            continue
        w.livestream_id = None  # not live any more, or its quota is gone: the regular price
        prices[id(w)] = product.price_fen
        if product.stock < w.quantity:  # sold out as last committed: fail fast, before any write or lock
            raise _not_enough(product)
        if not stock.count_for_buyer(buyer.id, product.id, w.quantity, product.per_buyer_limit):
            raise Conflict(_l("You can buy at most %(n)d of “%(title)s”.", n=product.per_buyer_limit,
                              title=product.title), code="per_buyer_limit")
    return prices


def _take_stock(lines, products) -> None:
    """The guarded UPDATE of each regular line, after every other write of the checkout.
    It locks the product's row until the commit, and everyone buying that product
    waits for the lock: the shorter this window, the faster a flash sale sells."""
    for w in lines:
        if w.livestream_id is None and not stock.take_stock(w.product_id, w.quantity):
            raise _not_enough(products[w.product_id])


def place_checkout(buyer, wanted: list[WantedLine], address: dict, provider: str) -> Checkout:
    """Reserve stock and create the checkout with its orders. Raises before writing
    anything the caller would keep: on error the caller rolls the transaction back."""
    lines = _merge(wanted)
    shipping = check_address(address)
    products = _load_products(lines)
    prices = _price_lines(buyer, lines, products)
    checkout = _build_checkout(buyer, lines, products, prices, shipping, provider)
    audit.record(buyer, "checkout.place", checkout, after={"amount_fen": checkout.amount_fen,
                                                           "orders": [o.id for o in checkout.orders]})
    _take_stock(lines, products)
    return checkout


def _build_checkout(buyer, lines, products, prices, shipping, provider) -> Checkout:
    """The checkout, one order per cooperative and their lines, written in one flush."""
    ttl = current_app.config["RESERVATION_MINUTES"]
    checkout = Checkout(buyer_id=buyer.id, amount_fen=sum(prices[id(w)] * w.quantity for w in lines),
                        expires_at=utcnow() + timedelta(minutes=ttl), shipping_address=shipping, provider=provider)
    by_coop = defaultdict(list)
    for w in lines:
        by_coop[products[w.product_id].cooperative_id].append(w)
    for coop_id, coop_lines in sorted(by_coop.items()):
        checkout.orders.append(_new_order(buyer, coop_id, coop_lines, products, prices))
    db.session.add(checkout)
    db.session.flush()
    return checkout


def _new_order(buyer, coop_id, lines, products, prices) -> Order:
    # the cooperative as already loaded, and no events yet: the 201 body reads both without a query
    order = Order(cooperative=products[lines[0].product_id].cooperative, buyer_id=buyer.id, events=[],
                  subtotal_fen=sum(prices[id(w)] * w.quantity for w in lines))
    for w in lines:
        p = products[w.product_id]
        order.lines.append(OrderLine(product_id=p.id, livestream_id=w.livestream_id, title=p.title, unit=p.unit,
                                     unit_price_fen=prices[id(w)], quantity=w.quantity,
                                     line_total_fen=prices[id(w)] * w.quantity))
    return order


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
    db.session.refresh(checkout)
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
