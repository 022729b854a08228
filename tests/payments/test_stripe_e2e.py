"""Paying by card end to end against localstripe: the checkout gets one PaymentIntent
(amount in fen, cny), Stripe's signed webhook marks the orders paid, a declined card
puts the goods back on sale, and a refund reaches Stripe with the right amount."""
import pytest
import stripe
from sqlalchemy import select

from marketplace.coops.models import Cooperative
from marketplace.extensions import db
from marketplace.orders.models import Checkout
from marketplace.payments.gateway import get_gateway
from marketplace.payments.models import PaymentEvent
from tests.conftest import owner_of
from tests.orders.helpers import ADDRESS, stock
from tests.payments.stripe_helpers import api_as, confirm_card, poll


def place_by_card(client, make, price_fen=1990, quantity=2):
    """A card checkout; returns (product, the buyer's API, its JSON)."""
    product = make.product(stock=10, price_fen=price_fen)
    buyer = api_as(client, make.user())
    response = buyer("post", "/checkouts", json={"items": [{"product_id": product.id, "quantity": quantity}],
                                                 "shipping_address": ADDRESS})
    assert response.status_code == 201, response.get_json()
    return product, buyer, response.get_json()


def order_status(buyer, order_id):
    return buyer("get", f"/orders/{order_id}").get_json()["status"]


def test_card_payment_creates_one_intent_and_the_webhook_marks_the_orders_paid(client, make, stripe_api,
                                                                                 stripe_live):
    product, buyer, body = place_by_card(client, make)
    payment = body["payment"]
    assert payment["provider"] == "stripe" and "confirm_url" not in payment
    intent = stripe_api.v1.payment_intents.retrieve(payment["payment_intent_id"])
    assert (intent.amount, intent.currency) == (body["amount_fen"], "cny") == (3980, "cny")
    assert intent.metadata["checkout_id"] == str(body["id"])
    assert payment["client_secret"] == intent.client_secret

    again = get_gateway().create_intent(db.session.get(Checkout, body["id"]))  # a retry: the same intent
    db.session.rollback()
    assert again.id == intent.id
    shown = buyer("get", f"/checkouts/{body['id']}").get_json()["payment"]
    assert (shown["payment_intent_id"], shown["client_secret"]) == (intent.id, intent.client_secret)
    demo = buyer("post", f"/checkouts/{body['id']}/demo-confirm")
    assert demo.status_code == 409 and demo.get_json()["error"]["code"] == "not_demo"  # no free goods

    assert confirm_card(stripe_api, intent.id).status == "succeeded"
    order_id = body["orders"][0]["id"]
    assert poll(lambda: order_status(buyer, order_id), lambda s: s == "paid") == "paid"
    assert buyer("get", f"/checkouts/{body['id']}").get_json()["status"] == "paid"
    assert db.session.scalar(select(PaymentEvent.outcome).where(PaymentEvent.payment_intent_id == intent.id)) == "paid"
    assert stock(product) == 8


def test_declined_card_cancels_the_checkout_and_puts_the_goods_back(client, make, stripe_api, stripe_live):
    product, buyer, body = place_by_card(client, make, quantity=3)
    assert stock(product) == 7
    with pytest.raises(stripe.CardError):
        confirm_card(stripe_api, body["payment"]["payment_intent_id"], card="pm_card_chargeCustomerFail")
    status = poll(lambda: buyer("get", f"/checkouts/{body['id']}").get_json()["status"],
                  lambda s: s == "cancelled")
    assert status == "cancelled"
    assert order_status(buyer, body["orders"][0]["id"]) == "cancelled"
    assert db.session.get(Checkout, body["id"]).cancel_reason == "payment_failed"
    assert stock(product) == 10


def test_refunds_through_the_api_reach_stripe_with_their_amounts(client, make, stripe_api, stripe_live):
    product, buyer, body = place_by_card(client, make, price_fen=1500, quantity=3)
    owner = api_as(client, owner_of(db.session.get(Cooperative, product.cooperative_id)))
    intent_id, order = body["payment"]["payment_intent_id"], body["orders"][0]
    confirm_card(stripe_api, intent_id)
    assert poll(lambda: order_status(buyer, order["id"]), lambda s: s == "paid") == "paid"

    by_line = owner("post", f"/orders/{order['id']}/refunds",
                    json={"lines": [{"order_line_id": order["lines"][0]["id"], "quantity": 1}]})
    by_amount = owner("post", f"/orders/{order['id']}/refunds", json={"amount_fen": 700})
    assert (by_line.status_code, by_amount.status_code) == (201, 201)
    refunds = stripe_api.v1.refunds.list(params={"payment_intent": intent_id}).data
    assert sorted(r.amount for r in refunds) == [700, 1500]
    assert by_amount.get_json()["order"]["refunded_fen"] == 2200
    assert by_amount.get_json()["order"]["status"] == "partially_refunded"
