"""Payment verbs: start a payment, take a provider event (once), refund an order."""
import logging
from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import lazyload

from ..coops.services import staff_covers
from ..core import audit
from ..core.errors import Conflict, Forbidden
from ..extensions import db
from ..orders import checkout as checkouts
from ..orders import placing, placing_token, refunds
from ..orders.fulfilment import SELLERS
from ..orders.models import Checkout, CheckoutStatus, Order
from ..orders.notify import tell_buyer_payment_refunded
from .gateway import DemoGateway, GatewayEvent, PaymentError, get_gateway
from .models import PaymentEvent

log = logging.getLogger("marketplace.payments")


@dataclass(frozen=True)
class IntentRequest:
    """What a gateway reads to create a checkout's payment, copied out of the session
    so that nothing is loaded from the database while the provider is called."""
    id: int
    amount_fen: int
    currency: str
    created_at: datetime
    payment_intent_id: str | None = None

    @classmethod
    def of(cls, checkout) -> "IntentRequest":
        return cls(checkout.id, checkout.amount_fen, checkout.currency, checkout.created_at, checkout.payment_intent_id)


def place_and_start_payment(buyer, wanted, address, products_read=None) -> tuple[placing.Placed, dict]:
    """The API's checkout: reserve the stock and write the checkout (placing.place),
    then its payment. The demo provider names its payment in the same transaction (the
    caller commits it); Stripe's is created by _open_intent, which commits first. Either
    way the reservation is committed next, so placing may commit it with its statement
    (commit=True: on PostgreSQL one round trip, the shortest hold of the product's row)."""
    gateway = get_gateway()
    placed = placing.place(buyer, wanted, address, gateway.name, payment_intent_id=gateway.id_before_placing(),
                           commit=True, products_read=products_read)
    return placed, _start_placed(gateway, placed)


def place_with_token_and_start_payment(token_hash, wanted, address) -> tuple[placing.Placed, dict]:
    """place_and_start_payment for the buyer behind an API token, in one statement
    (orders.placing_token: PostgreSQL, one regular line, the session in autocommit)."""
    gateway = get_gateway()
    placed = placing_token.place_with_token(token_hash, wanted, address, gateway.name,
                                            payment_intent_id=gateway.id_before_placing())
    return placed, _start_placed(gateway, placed)


def _start_placed(gateway, placed: placing.Placed) -> dict:
    if gateway.local:
        return payment_info(placed)
    intent = _open_intent(gateway, IntentRequest.of(placed))
    placed.payment_intent_id = intent.id
    return payment_info(placed, intent.client_secret)


def start_payment(checkout: Checkout) -> dict:
    """Create the provider's payment for a new checkout (an ORM one, placed in this
    transaction); returns what the client needs. With Stripe the reservation is
    committed first (see _open_intent): the caller's later commit has what is left."""
    gateway = get_gateway()
    checkout.provider = gateway.name
    if gateway.local:
        checkout.payment_intent_id = gateway.create_intent(checkout).id
        return payment_info(checkout)
    intent = _open_intent(gateway, IntentRequest.of(checkout))
    return payment_info(checkout, intent.client_secret)


def _open_intent(gateway, request: IntentRequest, release_on_failure: bool = True):
    """Stripe's PaymentIntent for a checkout, without holding anything while Stripe
    answers: the reservation (stock UPDATE, checkout, orders, audit) is committed first,
    so no row lock, connection or transaction waits on the network; the intent's id is
    then stored in a short transaction of its own. A webhook that comes in between finds
    the checkout by the id in the intent's metadata (handle_event). If Stripe fails, the
    units go back at once (as for a failed payment) and PaymentError says so."""
    db.session.commit()
    try:
        intent = gateway.create_intent(request)  # the idempotency key names the checkout: a retry gets the same
    except PaymentError:
        if release_on_failure:
            _release(request.id)
        raise
    _attach(request.id, intent.id)
    db.session.commit()
    return intent


def _attach(checkout_id: int, payment_intent_id: str) -> None:
    """Store the intent's id with its checkout, unless a webhook already did."""
    db.session.execute(update(Checkout).where(Checkout.id == checkout_id, Checkout.payment_intent_id.is_(None))
                       .values(payment_intent_id=payment_intent_id).execution_options(synchronize_session=False))


def _release(checkout_id: int) -> None:
    db.session.rollback()
    checkout = db.session.get(Checkout, checkout_id)
    if checkout is not None and checkouts.cancel_checkout(checkout, "payment_unavailable", notify=False):
        log.warning("checkout %s released: the payment provider failed", checkout_id)
    db.session.commit()


def payment_info(checkout, client_secret: str | None = None) -> dict:
    """What the client needs to pay `checkout` (an ORM Checkout or a placing.Placed)."""
    from ..core.urls import external_url

    if checkout.provider == "demo":
        return {"provider": "demo", "confirm_url": external_url("checkouts_api.demo_confirm", checkout_id=checkout.id)}
    return {"provider": "stripe", "client_secret": client_secret, "payment_intent_id": checkout.payment_intent_id}


def client_secret(checkout: Checkout) -> str | None:
    """The secret Stripe.js needs to confirm this checkout's payment (None in demo mode).
    A checkout whose intent was never stored (the process stopped right after the
    reservation's commit) gets it now: the idempotency key returns the same intent."""
    if checkout.provider != "stripe":
        return None
    gateway = get_gateway()
    if gateway.local:
        return None
    if not checkout.payment_intent_id:
        return _open_intent(gateway, IntentRequest.of(checkout), release_on_failure=False).client_secret
    return gateway.client_secret(checkout.payment_intent_id)


def confirm_demo(buyer, checkout: Checkout) -> str:
    """The demo provider's 'payment': only in demo mode, only by the buyer."""
    if checkout.provider != "demo" or not isinstance(get_gateway(), DemoGateway):
        raise Conflict(_l("This checkout is not paid in test mode."), code="not_demo")
    if checkout.buyer_id != buyer.id:
        raise Forbidden(_l("Not your checkout."))
    event = GatewayEvent(id=f"demo_evt_{checkout.id}", type="payment_intent.succeeded",
                         payment_intent_id=checkout.payment_intent_id, amount_fen=checkout.amount_fen,
                         currency=checkout.currency)
    return handle_event("demo", event)


def handle_event(provider: str, event: GatewayEvent) -> str:
    """Apply one provider event exactly once; returns the outcome. Duplicates,
    unknown intents and events in any order are harmless."""
    record = PaymentEvent(provider=provider, event_id=event.id, type=event.type,
                          payment_intent_id=event.payment_intent_id, outcome="received")
    try:
        with db.session.begin_nested():
            db.session.add(record)
            db.session.flush()
    except IntegrityError:
        return "duplicate"
    checkout = _checkout_of(provider, event)
    record.checkout_id = checkout.id if checkout else None
    record.outcome = _apply(event, checkout)
    log.info("payment event %s %s -> %s", event.type, event.id, record.outcome)
    return record.outcome


def _checkout_of(provider: str, event: GatewayEvent) -> Checkout | None:
    """The event's checkout: by the intent's id, or, when the event came before that id
    was stored (it is stored just after Stripe answers), by the checkout id in the
    intent's metadata -- then the id is stored now."""
    if not event.payment_intent_id:
        return None
    # the checkout's row only: its orders load when the event needs them, and when the
    # request has loaded this checkout already they are in the session (not read again)
    checkout = db.session.scalar(select(Checkout).options(lazyload(Checkout.orders))
                                 .where(Checkout.payment_intent_id == event.payment_intent_id))
    if checkout is not None or event.checkout_id is None:
        return checkout
    checkout = db.session.get(Checkout, event.checkout_id)
    if checkout is None or checkout.provider != provider or checkout.payment_intent_id is not None:
        return None  # another intent's checkout, or another provider's: not this event's
    _attach(checkout.id, event.payment_intent_id)
    db.session.refresh(checkout)
    return checkout if checkout.payment_intent_id == event.payment_intent_id else None


def _apply(event: GatewayEvent, checkout: Checkout | None) -> str:
    if checkout is None:
        return "unknown_intent" if event.type.startswith("payment_intent.") else "ignored"
    if event.type == "payment_intent.payment_failed":
        return "released" if checkouts.cancel_checkout(checkout, "payment_failed") else "ignored"
    if event.type != "payment_intent.succeeded":
        return "ignored"
    if (event.amount_fen, event.currency) != (checkout.amount_fen, checkout.currency):
        # when money came, the refund mail tells the buyer about the cancelled order too
        # (the plain "cancelled" mail would say nothing was charged)
        checkouts.cancel_checkout(checkout, "amount_mismatch", notify=(event.amount_fen or 0) <= 0)
        _refund_whole(checkout, event.amount_fen or 0, event.currency, "amount_mismatch")
        return "amount_mismatch"
    result = checkouts.mark_paid(checkout)
    if result == checkouts.PaidResult.needs_refund:
        _refund_whole(checkout, checkout.amount_fen, checkout.currency, "late")
        return "refunded_late"
    return result.value


def _refund_whole(checkout, amount_fen, currency, why):
    """Money arrived that we cannot honour: send all of it back at once, and tell
    the buyer (in their language) that it went back and why."""
    if amount_fen > 0:
        refund_id = get_gateway().refund(checkout.payment_intent_id, amount_fen, f"auto-{why}-{checkout.id}")
        audit.record(None, f"payment.auto_refund_{why}", checkout,
                     after={"amount_fen": amount_fen, "refund_id": refund_id})
        tell_buyer_payment_refunded(checkout, amount_fen, currency, why)


def refund_order(actor, order, lines=None, amount_fen=None, reason: str = ""):
    """A refund by the order's cooperative or by staff of its county, through the provider."""
    if not staff_covers(actor, order.cooperative.county):
        from ..coops.services import ensure_member
        ensure_member(actor, order.cooperative, SELLERS)
    _lock(order)
    return _refund(actor, order, refunds.plan_refund(order, lines=lines, amount_fen=amount_fen), reason)


def cancel_by_buyer(buyer, order):
    """The buyer's 'cancel': unpaid -> the whole checkout is cancelled (one payment);
    paid and not shipped -> a full refund."""
    if order.buyer_id != buyer.id:
        raise Forbidden(_l("Not your order."))
    checkout = order.checkout
    if checkout.status == CheckoutStatus.pending_payment:
        checkouts.cancel_checkout(checkout, "cancelled_by_buyer", buyer)
        return None
    _lock(order)
    if order.shipped_at is not None or order.refunded_fen:
        raise Conflict(_l("This order is already on its way; ask the cooperative for a refund."),
                       code="not_cancellable")
    every_unit = [{"order_line_id": line.id, "quantity": line.quantity} for line in order.lines]
    return _refund(buyer, order, refunds.plan_refund(order, lines=every_unit), "cancelled_by_buyer")


def _lock(order):
    """Hold the order's row until this transaction ends and re-read it, so two refunds
    at the same moment are planned one after the other (PostgreSQL: FOR UPDATE;
    SQLite: the transaction already holds the only write lock)."""
    db.session.execute(select(Order.id).where(Order.id == order.id).with_for_update())
    db.session.refresh(order)
    for line in order.lines:
        db.session.refresh(line)


def _refund(actor, order, plan, reason):
    key = f"refund-{order.id}-{order.refunded_fen}-{plan.amount_fen}"
    refund_id = get_gateway().refund(order.checkout.payment_intent_id, plan.amount_fen, key)
    return refunds.apply_refund(actor, order, plan, refund_id, reason)
