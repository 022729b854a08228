"""The card pay page: it hands Stripe.js this checkout's client secret and mounts the
Payment Element, and only this page's security policy lets Stripe's scripts, frames
and API in."""
import re

from marketplace.extensions import db
from marketplace.orders.models import Checkout
from tests.conftest import main_html
from tests.orders.helpers import ADDRESS


def test_stripe_pay_page_carries_the_client_secret_and_loads_stripe_js(client, make, login, stripe_api):
    product = make.product(stock=5, price_fen=4200)
    login(make.user())
    client.post("/cart/add", data={"product_id": product.id, "quantity": 1})
    placed = client.post("/checkout", data=ADDRESS)
    assert placed.status_code == 302
    pay = client.get(placed.headers["Location"])
    assert pay.status_code == 200

    checkout = db.session.scalar(db.select(Checkout))
    intent = stripe_api.v1.payment_intents.retrieve(checkout.payment_intent_id)
    page = main_html(pay)
    assert f'data-client-secret="{intent.client_secret}"' in page
    assert 'data-publishable-key="pk_test_x"' in page and 'id="payment-element"' in page
    assert "TEST MODE" not in page and "¥42.00" in page
    body = pay.get_data(as_text=True)
    assert '<script src="https://js.stripe.com/v3/"></script>' in body
    assert re.search(r'<script src="/static/js/pay\.js[^"]*"></script>', body)

    csp = pay.headers["Content-Security-Policy"]
    assert "script-src 'self' https://js.stripe.com;" in csp
    assert "frame-src https://js.stripe.com https://hooks.stripe.com;" in csp
    assert "connect-src 'self' https://api.stripe.com;" in csp
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    elsewhere = client.get("/cart").headers["Content-Security-Policy"]
    assert "stripe.com" not in elsewhere  # no other page trusts Stripe

