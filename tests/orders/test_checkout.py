"""Placing a checkout through POST /api/v1/checkouts: one order per cooperative with
frozen prices, stock held until paid or released, per-buyer limits, and every kind
of bad input answered with a clear 4xx that changes nothing."""
from datetime import datetime

import pytest
from sqlalchemy import func, select

from marketplace.catalog.services import update_product
from marketplace.core.db import utcnow
from marketplace.extensions import db
from marketplace.orders import placing
from marketplace.orders.checkout import expire_reservations
from marketplace.orders.models import Checkout, CheckoutStatus, Order, OrderStatus
from marketplace.payments.models import PaymentEvent
from tests.conftest import owner_of
from tests.orders.helpers import ADDRESS, held_by, place, snapshot, stock


def test_contract_of_a_new_checkout_split_per_cooperative_with_frozen_prices(api, make):
    """201 body per API.md; one order per cooperative; lines keep the price and title
    they were sold at even after the cooperative edits the product."""
    fungus = make.product(title="Qinling wood-ear fungus", price_fen=1990, stock=20)
    lilies = make.product(title="Datong day lilies", price_fen=3500, stock=5)
    buyer = make.user()
    response = place(api, buyer, (fungus, 2), (lilies, 1))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["status"] == "pending_payment" and body["currency"] == "CNY"
    assert body["amount_fen"] == 2 * 1990 + 3500
    assert datetime.fromisoformat(body["expires_at"]) > utcnow()
    assert body["payment"]["provider"] == "demo"
    assert body["payment"]["confirm_url"].endswith(f"/api/v1/checkouts/{body['id']}/demo-confirm")
    by_coop = {o["cooperative_id"]: o for o in body["orders"]}
    assert set(by_coop) == {fungus.cooperative_id, lilies.cooperative_id}
    line = by_coop[fungus.cooperative_id]["lines"][0]
    assert (line["title"], line["unit_price_fen"], line["quantity"], line["line_total_fen"]) == \
        ("Qinling wood-ear fungus", 1990, 2, 3980)
    assert by_coop[lilies.cooperative_id]["status"] == "pending_payment"
    assert (stock(fungus), stock(lilies)) == (18, 4)  # held for the buyer

    update_product(_owner(fungus), fungus, {"title": "Renamed", "price_fen": 2500})
    db.session.commit()
    order = api("get", f"/orders/{by_coop[fungus.cooperative_id]['id']}", user=buyer).get_json()
    assert (order["lines"][0]["title"], order["lines"][0]["unit_price_fen"]) == ("Qinling wood-ear fungus", 1990)


def _owner(product):
    from marketplace.coops.models import Cooperative

    return owner_of(db.session.get(Cooperative, product.cooperative_id))


def test_insufficient_stock_is_409_and_changes_nothing(api, make):
    fungus, lilies, buyer = make.product(stock=3), make.product(stock=10), make.user()
    before = snapshot(fungus, lilies)
    response = place(api, buyer, (lilies, 2), (fungus, 4))
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "insufficient_stock"
    assert snapshot(fungus, lilies) == before  # lilies were taken first, and given back


def test_stock_returns_when_the_buyer_cancels_or_the_reservation_expires(api, make):
    product = make.product(stock=10)
    buyer = make.user()
    first = place(api, buyer, (product, 3)).get_json()
    second = place(api, buyer, (product, 4)).get_json()
    assert stock(product) == 3
    cancelled = api("post", f"/orders/{first['orders'][0]['id']}/cancel", user=buyer)
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"
    assert stock(product) == 6
    db.session.get(Checkout, second["id"]).expires_at = utcnow()
    assert expire_reservations() == 1
    db.session.commit()
    assert stock(product) == 10
    assert api("get", f"/checkouts/{second['id']}", user=buyer).get_json()["status"] == "cancelled"
    late = api("post", f"/checkouts/{second['id']}/demo-confirm", user=buyer)
    assert late.status_code == 200 and late.get_json()["status"] == "paid"  # stock still there: revived
    assert stock(product) == 6


def test_per_buyer_limit_counts_live_orders_and_is_freed_by_cancelling(api, make):
    product = make.product(stock=50, per_buyer_limit=3)
    buyer, other = make.user(), make.user()
    first = place(api, buyer, (product, 2))
    assert first.status_code == 201
    over = place(api, buyer, (product, 2))
    assert over.status_code == 409 and over.get_json()["error"]["code"] == "per_buyer_limit"
    assert "at most 3" in over.get_json()["error"]["message"]
    assert place(api, other, (product, 3)).status_code == 201  # the limit is per buyer
    assert api("post", f"/orders/{first.get_json()['orders'][0]['id']}/cancel", user=buyer).status_code == 200
    assert held_by(buyer, product) == 0
    assert place(api, buyer, (product, 3)).status_code == 201


@pytest.mark.parametrize("quantity, code", [(0, "invalid_quantity"), (-2, "invalid_quantity"),
                                            (1000, "invalid_quantity"), ("2", "invalid"), (1.5, "invalid"),
                                            (True, "invalid"), (None, "invalid")])
def test_bad_quantities_are_422_and_change_nothing(api, make, quantity, code):
    product, buyer = make.product(stock=5000), make.user()
    before = snapshot(product)
    response = api("post", "/checkouts", user=buyer, json={
        "items": [{"product_id": product.id, "quantity": quantity}], "shipping_address": ADDRESS})
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["error"]["code"] == code
    assert snapshot(product) == before


def test_the_quantity_cap_holds_for_repeated_lines_of_one_product(api, make):
    """Two lines of 600 are one line of 1200: refused like a single line of 1200 would be;
    lines that add up to 999 are still fine."""
    product, buyer = make.product(stock=5000), make.user()
    before = snapshot(product)
    over = place(api, buyer, (product, 600), (product, 600))
    assert over.status_code == 422, over.get_json()
    error = over.get_json()["error"]
    assert error["code"] == "invalid_quantity" and "1 to 999" in error["message"]
    assert error["fields"] == {"product_id": [str(product.id)]}
    assert snapshot(product) == before

    fits = place(api, buyer, (product, 500), (product, 499))
    assert fits.status_code == 201, fits.get_json()
    assert [line["quantity"] for line in fits.get_json()["orders"][0]["lines"]] == [999]
    assert stock(product) == 5000 - 999


@pytest.mark.parametrize("case", ["archived", "draft", "unverified", "suspended", "missing"])
def test_products_not_for_sale_are_refused_and_nothing_is_held(api, make, case):
    coop = make.coop(status={"unverified": "pending", "suspended": "suspended"}.get(case, "verified"))
    product = make.product(coop=coop, status={"archived": "archived", "draft": "draft"}.get(case, "active"))
    good, buyer = make.product(stock=10), make.user()
    product_id = product.id + 1000 if case == "missing" else product.id
    before = snapshot(product, good)
    response = api("post", "/checkouts", user=buyer, json={
        "items": [{"product_id": good.id, "quantity": 1}, {"product_id": product_id, "quantity": 1}],
        "shipping_address": ADDRESS})
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "product_unavailable"
    assert "no longer for sale" in response.get_json()["error"]["message"]
    assert snapshot(product, good) == before


def test_sold_out_product_is_409(api, make):
    product = make.product(stock=0)
    response = place(api, make.user(), (product, 1))
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "insufficient_stock"
    assert "left" in response.get_json()["error"]["message"]


@pytest.mark.parametrize("address, field", [({**ADDRESS, "phone": "1"}, "phone"),
                                            ({**ADDRESS, "address": " "}, "address")])
def test_bad_shipping_address_names_the_field_and_changes_nothing(api, make, address, field):
    product, buyer = make.product(stock=5), make.user()
    before = snapshot(product)
    response = place(api, buyer, (product, 1), address=address)
    assert response.status_code == 422 and field in response.get_json()["error"]["fields"]
    assert snapshot(product) == before


def test_paying_twice_takes_one_payment(api, make):
    """A double tap on "pay": the second confirm changes nothing and says it is paid."""
    product = make.product(stock=5)
    buyer = make.user()
    placed = place(api, buyer, (product, 2)).get_json()
    first = api("post", f"/checkouts/{placed['id']}/demo-confirm", user=buyer)
    second = api("post", f"/checkouts/{placed['id']}/demo-confirm", user=buyer)
    assert (first.status_code, second.status_code) == (200, 200)
    assert second.get_json()["status"] == "paid" and second.get_json()["orders"][0]["status"] == "paid"
    assert len(db.session.scalars(select(PaymentEvent)).all()) == 1
    order = db.session.scalar(select(Order))
    assert [e.status for e in order.events] == [OrderStatus.paid]
    assert stock(product) == 3


def test_someone_elses_checkout_cannot_be_seen_or_paid(api, make):
    product = make.product(stock=5)
    placed = place(api, make.user(), (product, 1)).get_json()
    stranger = make.user()
    assert api("get", f"/checkouts/{placed['id']}", user=stranger).status_code == 404
    assert api("post", f"/checkouts/{placed['id']}/demo-confirm", user=stranger).status_code == 404
    assert db.session.get(Checkout, placed["id"]).status == CheckoutStatus.pending_payment


def test_a_crash_in_the_middle_of_a_checkout_leaves_no_trace(api, make, monkeypatch):
    """The process dies after the stock was taken: the transaction never commits, so
    there is no checkout, no order and the stock is whole."""
    product, other = make.product(stock=10), make.product(stock=10)
    product_id = product.id  # (read here: the request must not load the test's objects)

    take_stock = placing._take_stock

    def crash(*args, **kwargs):
        take_stock(*args, **kwargs)
        assert stock_in_transaction(product_id) == 8  # the stock really was taken, the orders written
        assert db.session.scalar(select(func.count()).select_from(Order)) == 2
        raise RuntimeError("killed")

    monkeypatch.setattr(placing, "_take_stock", crash)
    buyer = make.user()
    before = snapshot(product, other)
    response = place(api, buyer, (product, 2), (other, 1))
    assert response.status_code == 500
    assert response.get_json()["error"]["code"] == "server_error"
    assert snapshot(product, other) == before


def stock_in_transaction(product_id):
    from marketplace.catalog.models import Product

    return db.session.scalar(select(Product.stock).where(Product.id == product_id))


@pytest.mark.parametrize("field", ["product_id", "livestream_id"])
@pytest.mark.parametrize("value", [2**31, 10**40, 0, -(2**63)])
def test_ids_no_row_can_have_are_a_clear_422_before_any_query(api, make, field, value):
    """Ids are 32-bit columns: the database would refuse a larger number (SQLite: an
    overflow) and a 500 would follow; they are refused with the checkout's own fields."""
    product, buyer = make.product(stock=5), make.user()
    before = snapshot(product)
    item = {"product_id": product.id, "quantity": 1, field: value}
    response = api("post", "/checkouts", user=buyer, json={"items": [item], "shipping_address": ADDRESS})
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["error"]["message"]
    assert snapshot(product) == before
