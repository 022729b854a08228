"""Races through the real HTTP stack (threaded server, one database): many buyers at
once never oversell, and double taps on "pay" or "refund" count once."""
import threading
from concurrent.futures import ThreadPoolExecutor

import requests
from sqlalchemy import func, select

from marketplace.auth.services import issue_api_token
from marketplace.catalog.models import Product
from marketplace.coops.models import Cooperative
from marketplace.extensions import db
from marketplace.orders.models import BuyerProductCount, Checkout, Order, OrderEvent, OrderLine, Refund
from marketplace.payments.models import PaymentEvent
from tests.conftest import Factory, owner_of
from tests.orders.helpers import ADDRESS

BUYERS = 60
STOCK = 10


def all_at_once(url, calls):
    """POST every (path, token, json) at the same moment; returns [(status, body)]."""
    barrier = threading.Barrier(len(calls))

    def send(call):
        path, token, body = call
        barrier.wait(timeout=60)
        response = requests.post(url + "/api/v1" + path, json=body, timeout=120,
                                 headers={"Authorization": f"Bearer {token}"})
        return response.status_code, response.json()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(send, calls))


def token_for(user):
    raw, _ = issue_api_token(user)
    db.session.commit()
    return raw


def test_sixty_buyers_racing_for_ten_units_never_oversell(live_server):
    url = live_server.config["LIVE_URL"]
    with live_server.app_context():
        make = Factory()
        product_id = make.product(stock=STOCK, price_fen=1990).id
        tokens = [token_for(make.user()) for _ in range(BUYERS)]
        db.session.remove()  # hold no transaction while the server works
    body = {"items": [{"product_id": product_id, "quantity": 1}], "shipping_address": ADDRESS}

    results = all_at_once(url, [("/checkouts", token, body) for token in tokens])

    statuses = sorted(status for status, _ in results)
    assert statuses == [201] * STOCK + [409] * (BUYERS - STOCK), statuses
    assert {b["error"]["code"] for s, b in results if s == 409} == {"insufficient_stock"}
    assert all(b["status"] == "pending_payment" and b["amount_fen"] == 1990 for s, b in results if s == 201)
    with live_server.app_context():
        assert db.session.get(Product, product_id).stock == 0
        assert db.session.scalar(select(func.sum(OrderLine.quantity))) == STOCK
        assert db.session.scalar(select(func.count()).select_from(Checkout)) == STOCK
        assert db.session.scalar(select(func.sum(BuyerProductCount.quantity))) == STOCK
        db.session.remove()


def _paid_order(live_server, url):
    """A checkout of 3 units at 1000 fen; returns (buyer token, owner token, checkout id, order id, product id)."""
    with live_server.app_context():
        make = Factory()
        product = make.product(stock=10, price_fen=1000)
        product_id = product.id
        owner = owner_of(db.session.get(Cooperative, product.cooperative_id))
        buyer_token, owner_token = token_for(make.user()), token_for(owner)
        db.session.remove()
    placed = requests.post(url + "/api/v1/checkouts", headers={"Authorization": f"Bearer {buyer_token}"},
                           json={"items": [{"product_id": product_id, "quantity": 3}], "shipping_address": ADDRESS},
                           timeout=30).json()
    return buyer_token, owner_token, placed["id"], placed["orders"][0]["id"], product_id


def test_pay_tapped_five_times_at_once_is_one_payment(live_server):
    url = live_server.config["LIVE_URL"]
    buyer, _, checkout_id, order_id, product_id = _paid_order(live_server, url)

    results = all_at_once(url, [(f"/checkouts/{checkout_id}/demo-confirm", buyer, None)] * 5)

    assert [s for s, _ in results] == [200] * 5
    assert {b["status"] for _, b in results} == {"paid"}
    with live_server.app_context():
        assert db.session.scalar(select(func.count()).select_from(PaymentEvent)) == 1
        assert db.session.scalars(select(OrderEvent.status).where(OrderEvent.order_id == order_id)).all() == ["paid"]
        assert db.session.get(Product, product_id).stock == 7
        db.session.remove()


def test_refund_sent_five_times_at_once_is_booked_once(live_server):
    url = live_server.config["LIVE_URL"]
    buyer, owner, checkout_id, order_id, product_id = _paid_order(live_server, url)
    requests.post(f"{url}/api/v1/checkouts/{checkout_id}/demo-confirm",
                  headers={"Authorization": f"Bearer {buyer}"}, timeout=30)

    results = all_at_once(url, [(f"/orders/{order_id}/refunds", owner, {"amount_fen": 3000})] * 5)

    statuses = sorted(s for s, _ in results)
    assert statuses[0] == 201 and all(s in (409, 422) for s in statuses[1:]), results
    with live_server.app_context():
        order = db.session.get(Order, order_id)
        assert (order.status.value, order.refunded_fen) == ("refunded", 3000)
        assert db.session.scalar(select(func.count()).select_from(Refund)) == 1
        assert db.session.get(Product, product_id).stock == 10  # the 3 units came back once
        db.session.remove()
