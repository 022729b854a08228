"""POST /api/v1/payments/stripe/webhook with awkward deliveries: unsigned or forged
events change nothing, repeats and out-of-order events are harmless, and money we
cannot honour (wrong amount, or paid after the goods were sold to someone else) goes
back to the buyer through Stripe (localstripe) by itself."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from marketplace.core.db import utcnow
from marketplace.extensions import db
from marketplace.orders.checkout import expire_reservations
from marketplace.orders.models import Checkout, CheckoutStatus, Order, OrderEvent, OrderStatus
from marketplace.payments.models import PaymentEvent
from tests.orders.helpers import mails_to, place, stock
from tests.payments.stripe_helpers import confirm_card, signed, stripe_event

HOOK = "/api/v1/payments/stripe/webhook"


@pytest.fixture
def pending(api, make, stripe_api):
    """A card checkout of 2 x 1990 fen waiting for its webhook (the card is charged)."""
    product, buyer = make.product(stock=5, price_fen=1990), make.user()
    body = place(api, buyer, (product, 2)).get_json()
    intent_id = body["payment"]["payment_intent_id"]
    return {"product": product, "buyer": buyer, "id": body["id"], "intent": intent_id,
            "amount": body["amount_fen"], "order_id": body["orders"][0]["id"]}


def deliver(client, event, **sign):
    body, headers = signed(event, **sign)
    return client.post(HOOK, data=body, headers=headers)


def checkout_status(pending):
    db.session.expire_all()
    return db.session.get(Checkout, pending["id"]).status


@pytest.mark.parametrize("forge", ["none", "garbage", "wrong_secret", "stale", "tampered"])
def test_unsigned_or_forged_events_are_400_and_change_nothing(client, pending, forge):
    event = stripe_event("payment_intent.succeeded", pending["intent"], pending["amount"])
    body, headers = signed(event, secret="whsec_other" if forge == "wrong_secret" else "whsec_test",
                           timestamp=int(utcnow().timestamp()) - 3600 if forge == "stale" else None)
    if forge == "none":
        headers.pop("Stripe-Signature")
    elif forge == "garbage":
        headers["Stripe-Signature"] = "t=1,v1=00"
    elif forge == "tampered":
        body = body.replace(b'"amount": 3980', b'"amount": 1')
    response = client.post(HOOK, data=body, headers=headers)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_signature"
    assert checkout_status(pending) == CheckoutStatus.pending_payment
    assert db.session.scalars(select(PaymentEvent)).all() == []


def test_the_same_event_twice_is_applied_once(app, client, pending, stripe_api):
    confirm_card(stripe_api, pending["intent"])
    event = stripe_event("payment_intent.succeeded", pending["intent"], pending["amount"])
    first, second = deliver(client, event), deliver(client, event)
    assert (first.status_code, second.status_code) == (200, 200)
    assert (first.get_json()["outcome"], second.get_json()["outcome"]) == ("paid", "duplicate")
    events = db.session.scalars(select(OrderEvent.status).where(OrderEvent.order_id == pending["order_id"])).all()
    assert events == [OrderStatus.paid]
    assert len(mails_to(app, pending["buyer"].email)) == 1


def test_failure_arriving_after_success_is_harmless(client, pending, stripe_api):
    confirm_card(stripe_api, pending["intent"])
    ok = deliver(client, stripe_event("payment_intent.succeeded", pending["intent"], pending["amount"]))
    late = deliver(client, stripe_event("payment_intent.payment_failed", pending["intent"], pending["amount"]))
    assert (ok.get_json()["outcome"], late.get_json()["outcome"]) == ("paid", "ignored")
    assert checkout_status(pending) == CheckoutStatus.paid
    assert db.session.get(Order, pending["order_id"]).status == OrderStatus.paid
    assert stock(pending["product"]) == 3  # the goods stay sold


def test_success_for_an_unknown_intent_is_acknowledged_and_changes_nothing(client, pending):
    response = deliver(client, stripe_event("payment_intent.succeeded", "pi_nobodyknows", 3980))
    assert response.status_code == 200 and response.get_json()["outcome"] == "unknown_intent"
    assert checkout_status(pending) == CheckoutStatus.pending_payment
    other = deliver(client, {**stripe_event("charge.refunded", "ch_1", 1), "data": {"object": {"object": "charge"}}})
    assert other.status_code == 200 and other.get_json()["outcome"] == "ignored"


def test_a_payment_of_the_wrong_amount_is_refunded_and_the_checkout_cancelled(app, client, pending, stripe_api):
    pending["buyer"].locale = "en"
    db.session.commit()
    stripe_api.v1.payment_intents.update(pending["intent"], params={"amount": 100})  # not what we asked
    confirm_card(stripe_api, pending["intent"])
    response = deliver(client, stripe_event("payment_intent.succeeded", pending["intent"], 100))
    assert response.get_json()["outcome"] == "amount_mismatch"
    assert checkout_status(pending) == CheckoutStatus.cancelled
    assert stock(pending["product"]) == 5
    refunds = stripe_api.v1.refunds.list(params={"payment_intent": pending["intent"]}).data
    assert [r.amount for r in refunds] == [100]

    [mail] = mails_to(app, pending["buyer"].email)  # one mail that says what happened to the money
    body = mail.get_content()
    assert mail["Subject"] == "Your payment of ¥1.00 is refunded"
    assert "did not match the total of your order (¥39.80)" in body and "sent your payment back" in body
    assert f"Order {pending['order_id']}: cancelled" in body
    assert "nothing was charged" not in body


def test_payment_after_expiry_when_the_goods_are_gone_is_refunded_in_full(app, api, client, make, pending, stripe_api):
    db.session.get(Checkout, pending["id"]).expires_at = utcnow() - timedelta(minutes=1)
    assert expire_reservations() == 1
    db.session.commit()
    assert place(api, make.user(), (pending["product"], 5)).status_code == 201  # someone else buys them all
    confirm_card(stripe_api, pending["intent"])

    mailed_before = len(mails_to(app, pending["buyer"].email))  # "cancelled" when the reservation ran out

    response = deliver(client, stripe_event("payment_intent.succeeded", pending["intent"], pending["amount"]))
    assert response.status_code == 200 and response.get_json()["outcome"] == "refunded_late"
    assert checkout_status(pending) == CheckoutStatus.cancelled
    assert stock(pending["product"]) == 0  # the other buyer keeps the goods
    refunds = stripe_api.v1.refunds.list(params={"payment_intent": pending["intent"]}).data
    assert [r.amount for r in refunds] == [pending["amount"]]

    # the buyer (no language chosen: Chinese, the site's first language) hears the money went back
    [mail] = mails_to(app, pending["buyer"].email)[mailed_before:]
    assert "¥39.80" in mail["Subject"]
    assert f"订单 {pending['order_id']}：已取消" in mail.get_content()


def test_the_late_refund_mail_says_why_in_english_for_an_english_buyer(app, api, client, make, pending, stripe_api):
    pending["buyer"].locale = "en"
    db.session.get(Checkout, pending["id"]).expires_at = utcnow() - timedelta(minutes=1)
    expire_reservations()
    db.session.commit()
    assert place(api, make.user(), (pending["product"], 4)).status_code == 201  # only 1 left: not enough
    confirm_card(stripe_api, pending["intent"])
    deliver(client, stripe_event("payment_intent.succeeded", pending["intent"], pending["amount"]))

    mail = mails_to(app, pending["buyer"].email)[-1]
    assert mail["Subject"] == "Your payment of ¥39.80 is refunded"
    body = mail.get_content()
    assert "arrived after the goods held for you were released" in body and "back in full" in body
    assert f"Order {pending['order_id']}: cancelled" in body and "× 2" in body


def test_payment_after_expiry_with_the_goods_still_there_completes_the_order(client, pending, stripe_api):
    db.session.get(Checkout, pending["id"]).expires_at = utcnow() - timedelta(minutes=1)
    expire_reservations()
    db.session.commit()
    assert stock(pending["product"]) == 5
    confirm_card(stripe_api, pending["intent"])
    response = deliver(client, stripe_event("payment_intent.succeeded", pending["intent"], pending["amount"]))
    assert response.get_json()["outcome"] == "paid"
    assert db.session.get(Order, pending["order_id"]).status == OrderStatus.paid
    assert stock(pending["product"]) == 3


def test_the_webhook_is_not_there_in_demo_mode(app_factory):
    demo = app_factory().test_client()
    body, headers = signed(stripe_event("payment_intent.succeeded", "pi_x", 1))
    assert demo.post(HOOK, data=body, headers=headers).status_code == 404
