"""Stripe is called after the reservation is committed: while Stripe creates the
PaymentIntent nobody waits for the product's row (the next buyer, the cooperative's
restock, a live room's pin), a webhook that comes before the intent's id is stored
still finds its checkout, and a Stripe failure puts the units back at once."""
import threading

import psycopg
import pytest
import requests
from sqlalchemy import select
from werkzeug.serving import make_server

from marketplace.extensions import db
from marketplace.orders.models import Checkout, CheckoutStatus, OrderStatus
from tests.conftest import PG_URL, fresh_context
from tests.orders.helpers import held_by, place, stock
from tests.payments.stripe_helpers import WEBHOOK_SECRET, signed
from tests.payments.stripe_stub import StripeStub


@pytest.fixture
def stub():
    with StripeStub() as stub:
        yield stub


@pytest.fixture
def app(app_factory, stub):
    """The Stripe provider pointed at the stub (this module's own, not localstripe)."""
    app = app_factory(PAYMENTS_PROVIDER="stripe", STRIPE_SECRET_KEY="sk_test_x", STRIPE_PUBLISHABLE_KEY="pk_test_x",
                      STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET, STRIPE_API_BASE=stub.url)
    with fresh_context(app):
        yield app


@pytest.fixture
def served(app):
    """`app` over HTTP too, for the webhook that arrives while a checkout waits for Stripe."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.mark.skipif(not (PG_URL or "").startswith("postgresql"),
                    reason="row locks are PostgreSQL's: set TEST_DATABASE_URL to a PostgreSQL database")
def test_nothing_waits_for_the_stock_row_while_stripe_creates_the_intent(api, make, stub):
    product, buyer = make.product(stock=10, price_fen=1990), make.user()
    product_id = product.id
    seen = {}

    def restock_during_the_call(form):
        """The cooperative restocks from another connection while Stripe is busy: with the
        reservation's transaction still open, FOR UPDATE NOWAIT would fail at once."""
        with psycopg.connect(PG_URL.replace("+psycopg", "")) as conn:
            try:
                seen["stock"] = conn.execute("SELECT stock FROM products WHERE id = %s FOR UPDATE NOWAIT",
                                             (product_id,)).fetchone()[0]
            except psycopg.errors.LockNotAvailable:
                seen["stock"] = "locked by the checkout"
                return
            conn.execute("UPDATE products SET stock = stock + 5 WHERE id = %s", (product_id,))
            seen["checkout"] = conn.execute("SELECT status, payment_intent_id FROM checkouts WHERE id = %s",
                                            (int(form["metadata[checkout_id]"]),)).fetchone()

    stub.during_create = restock_during_the_call
    response = place(api, buyer, (product, 2))

    assert response.status_code == 201, response.get_json()
    # the reservation was committed before Stripe was asked: stock taken, checkout pending
    assert seen == {"stock": 8, "checkout": ("pending_payment", None)}
    body = response.get_json()
    intent = stub.created[0]
    assert body["payment"] == {"provider": "stripe", "payment_intent_id": intent["id"],
                               "client_secret": intent["client_secret"]}
    assert (intent["amount"], intent["metadata"]["checkout_id"]) == (3980, str(body["id"]))
    assert db.session.get(Checkout, body["id"]).payment_intent_id == intent["id"]
    assert stock(product) == 13


def test_when_stripe_fails_the_units_go_back_and_the_buyer_is_told(api, make, stub):
    product, buyer = make.product(stock=10), make.user()
    stub.fail_with = 400

    response = place(api, buyer, (product, 3))

    assert response.status_code == 502
    error = response.get_json()["error"]
    assert error["code"] == "payment_provider_error" and "payment service" in error["message"]
    assert stock(product) == 10 and held_by(buyer, product) == 0
    checkout = db.session.scalar(select(Checkout))
    assert (checkout.status, checkout.cancel_reason) == (CheckoutStatus.cancelled, "payment_unavailable")
    assert [o.status for o in checkout.orders] == [OrderStatus.cancelled]


def test_a_webhook_before_the_intent_is_stored_finds_its_checkout_by_metadata(api, make, stub, served):
    product, buyer = make.product(stock=10, price_fen=1500), make.user()
    delivered = {}

    def pay_before_stripe_answers(form):
        """Stripe's success event overtakes the answer to the create call."""
        intent_id = f"pi_stub_{len(stub.created) + 1}"  # the id the stub is about to answer with
        event = {"id": "evt_overtaking", "object": "event", "type": "payment_intent.succeeded",
                 "data": {"object": {"id": intent_id, "object": "payment_intent", "amount": int(form["amount"]),
                                     "currency": form["currency"], "status": "succeeded",
                                     "metadata": {"checkout_id": form["metadata[checkout_id]"]}}}}
        body, headers = signed(event)
        answer = requests.post(served + "/api/v1/payments/stripe/webhook", data=body, headers=headers, timeout=30)
        delivered.update(status=answer.status_code, body=answer.json())

    stub.during_create = pay_before_stripe_answers
    response = place(api, buyer, (product, 2))

    assert response.status_code == 201, response.get_json()
    assert delivered == {"status": 200, "body": {"received": True, "outcome": "paid"}}
    db.session.expire_all()
    checkout = db.session.get(Checkout, response.get_json()["id"])
    assert checkout.status == CheckoutStatus.paid and checkout.payment_intent_id == stub.created[0]["id"]
    assert [o.status for o in checkout.orders] == [OrderStatus.paid]
    assert stock(product) == 8
