"""After payment: the order state machine, shipping (the cooperative's sellers only),
delivery (the buyer only), refunds by line and by amount, and the audit record and
buyer mail that every change leaves behind."""
from itertools import product as pairs

import pytest

from marketplace.coops.models import Cooperative
from marketplace.coops.services import invite_member
from marketplace.core.errors import Conflict
from marketplace.extensions import db
from marketplace.orders import lifecycle
from marketplace.orders.lifecycle import TRANSITIONS
from marketplace.orders.models import Order, OrderEvent, OrderStatus
from tests.conftest import owner_of
from tests.orders.helpers import audit_actions, mails_to, place, place_and_pay, stock

SHIP = {"carrier": "SF Express", "tracking_no": "SF1234567890"}


@pytest.mark.parametrize("source, target", list(pairs(OrderStatus, OrderStatus)),
                         ids=lambda s: s.value)
def test_state_machine_allows_exactly_the_table(app, source, target):
    """Any move outside TRANSITIONS is a 409 invalid_transition and changes nothing."""
    order = Order(id=1, status=source)
    if target in TRANSITIONS[source]:
        lifecycle.move(order, target, note="test")
        assert order.status == target
        assert any(isinstance(o, OrderEvent) and o.status == target for o in db.session.new)
    else:
        with pytest.raises(Conflict) as err:
            lifecycle.move(order, target)
        assert (err.value.status, err.value.code) == (409, "invalid_transition")
        assert order.status == source and not db.session.new
    db.session.rollback()


def test_every_status_has_a_row_and_final_states_are_final():
    assert set(TRANSITIONS) == set(OrderStatus)
    assert TRANSITIONS[OrderStatus.cancelled] == TRANSITIONS[OrderStatus.refunded] == set()


@pytest.fixture
def shop(make, api):
    """A paid order of 3 units from one cooperative, its buyer, owner and product."""
    product = make.product(stock=10, price_fen=1000)
    coop = db.session.get(Cooperative, product.cooperative_id)
    buyer = make.user()
    buyer.locale = "en"
    db.session.commit()
    paid = place_and_pay(api, buyer, (product, 3))
    return {"order_id": paid["orders"][0]["id"], "buyer": buyer, "owner": owner_of(coop), "coop": coop,
            "product": product, "line_id": paid["orders"][0]["lines"][0]["id"]}


def test_only_the_cooperatives_sellers_ship(api, make, shop):
    order_id, coop = shop["order_id"], shop["coop"]
    other_owner = owner_of(make.coop())
    host, manager = make.user(), make.user()
    invite_member(shop["owner"], coop, host.email, "host")
    invite_member(shop["owner"], coop, manager.email, "manager")
    db.session.commit()
    assert api("post", f"/orders/{order_id}/ship", user=other_owner, json=SHIP).status_code == 404
    assert api("post", f"/orders/{order_id}/ship", user=shop["buyer"], json=SHIP).status_code == 403
    assert api("post", f"/orders/{order_id}/ship", user=host, json=SHIP).status_code == 403
    assert db.session.get(Order, order_id).status == OrderStatus.paid
    shipped = api("post", f"/orders/{order_id}/ship", user=manager, json=SHIP)
    assert shipped.status_code == 200
    body = shipped.get_json()
    assert (body["status"], body["carrier"], body["tracking_no"]) == ("shipped", "SF Express", "SF1234567890")
    again = api("post", f"/orders/{order_id}/ship", user=manager, json=SHIP)
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "invalid_transition"


def test_ship_needs_a_tracking_number_and_a_paid_order(api, make, shop):
    bad = api("post", f"/orders/{shop['order_id']}/ship", user=shop["owner"], json={**SHIP, "tracking_no": " "})
    assert bad.status_code == 422 and "tracking_no" in bad.get_json()["error"]["fields"]
    unpaid = place(api, make.user(), (shop["product"], 1)).get_json()["orders"][0]["id"]
    early = api("post", f"/orders/{unpaid}/ship", user=shop["owner"], json=SHIP)
    assert early.status_code == 409 and early.get_json()["error"]["code"] == "invalid_transition"


def test_only_the_buyer_confirms_delivery_after_shipping(api, shop):
    order_id = shop["order_id"]
    early = api("post", f"/orders/{order_id}/deliver", user=shop["buyer"])
    assert early.status_code == 409 and early.get_json()["error"]["code"] == "not_shipped"
    api("post", f"/orders/{order_id}/ship", user=shop["owner"], json=SHIP)
    by_seller = api("post", f"/orders/{order_id}/deliver", user=shop["owner"])
    assert by_seller.status_code == 403 and by_seller.get_json()["error"]["code"] == "buyer_only"
    done = api("post", f"/orders/{order_id}/deliver", user=shop["buyer"])
    assert done.status_code == 200 and done.get_json()["status"] == "delivered"


def test_refund_by_line_before_shipping_puts_the_goods_back(api, shop):
    refund = api("post", f"/orders/{shop['order_id']}/refunds", user=shop["owner"],
                 json={"lines": [{"order_line_id": shop["line_id"], "quantity": 1}], "reason": "bruised"})
    assert refund.status_code == 201, refund.get_json()
    body = refund.get_json()
    assert body["amount_fen"] == 1000
    assert (body["order"]["status"], body["order"]["refunded_fen"]) == ("partially_refunded", 1000)
    assert body["order"]["lines"][0]["refunded_quantity"] == 1
    assert stock(shop["product"]) == 8  # 10 - 3 bought + 1 back


def test_refund_after_shipping_does_not_restock(api, shop):
    api("post", f"/orders/{shop['order_id']}/ship", user=shop["owner"], json=SHIP)
    refund = api("post", f"/orders/{shop['order_id']}/refunds", user=shop["owner"],
                 json={"lines": [{"order_line_id": shop["line_id"], "quantity": 3}]})
    assert refund.status_code == 201 and refund.get_json()["order"]["status"] == "refunded"
    assert stock(shop["product"]) == 7  # the parcel is on the road


def test_refund_by_amount_then_the_rest(api, shop):
    order_id, owner = shop["order_id"], shop["owner"]
    part = api("post", f"/orders/{order_id}/refunds", user=owner, json={"amount_fen": 250})
    assert part.status_code == 201 and part.get_json()["order"]["status"] == "partially_refunded"
    assert stock(shop["product"]) == 7  # money only: no units come back
    too_much = api("post", f"/orders/{order_id}/refunds", user=owner, json={"amount_fen": 2751})
    assert too_much.status_code == 422 and too_much.get_json()["error"]["code"] == "invalid_refund"
    rest = api("post", f"/orders/{order_id}/refunds", user=owner, json={"amount_fen": 2750})
    assert rest.status_code == 201
    assert (rest.get_json()["order"]["status"], rest.get_json()["order"]["refunded_fen"]) == ("refunded", 3000)
    assert stock(shop["product"]) == 10  # fully refunded before shipping: every unit is back
    over = api("post", f"/orders/{order_id}/refunds", user=owner, json={"amount_fen": 1})
    assert over.status_code == 409 and over.get_json()["error"]["code"] == "not_refundable"


@pytest.mark.parametrize("body", [{}, {"amount_fen": 0}, {"amount_fen": -5}, {"amount_fen": "100"},
                                  {"lines": [{"order_line_id": 999999, "quantity": 1}]},
                                  {"lines": [{"order_line_id": "LINE", "quantity": 4}]}])
def test_bad_refund_requests_change_nothing(api, shop, body):
    line_id = shop["line_id"]
    if body.get("lines") and body["lines"][0]["order_line_id"] == "LINE":
        body = {"lines": [{"order_line_id": line_id, "quantity": 4}]}  # more than was bought
    response = api("post", f"/orders/{shop['order_id']}/refunds", user=shop["owner"], json=body)
    assert response.status_code == 422
    order = db.session.get(Order, shop["order_id"])
    assert (order.status, order.refunded_fen) == (OrderStatus.paid, 0)


def test_a_cancelled_order_cannot_be_refunded(api, make):
    product = make.product(stock=5)
    buyer = make.user()
    placed = place(api, buyer, (product, 1)).get_json()
    order_id = placed["orders"][0]["id"]
    assert api("post", f"/orders/{order_id}/cancel", user=buyer).get_json()["status"] == "cancelled"
    owner = owner_of(db.session.get(Cooperative, product.cooperative_id))
    response = api("post", f"/orders/{order_id}/refunds", user=owner, json={"amount_fen": 100})
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "not_refundable"


def test_buyer_cancelling_a_paid_unshipped_order_gets_everything_back(api, shop):
    response = api("post", f"/orders/{shop['order_id']}/cancel", user=shop["buyer"])
    assert response.status_code == 200
    assert (response.get_json()["status"], response.get_json()["refunded_fen"]) == ("refunded", 3000)
    assert stock(shop["product"]) == 10


def test_every_change_leaves_an_audit_record_and_a_mail_to_the_buyer(app, api, shop):
    order_id, owner, buyer = shop["order_id"], shop["owner"], shop["buyer"]
    api("post", f"/orders/{order_id}/ship", user=owner, json=SHIP)
    api("post", f"/orders/{order_id}/deliver", user=buyer)
    api("post", f"/orders/{order_id}/refunds", user=owner, json={"amount_fen": 500})
    api("post", f"/orders/{order_id}/refunds", user=owner, json={"amount_fen": 2500})
    steps = ["paid", "shipped", "delivered", "partially_refunded", "refunded"]
    assert [a for a in audit_actions(order_id) if a != "order.refund"] == [f"order.{s}" for s in steps]
    mails = mails_to(app, buyer.email)
    assert all(m["Subject"].startswith(f"Order {order_id}: ") for m in mails)
    said = ["We have your payment.", "Your parcel is on its way.", "Your order is delivered.",
            "Part of your order is refunded.", "Your order is refunded."]
    assert len(mails) == len(said)
    assert all(text in mail.get_content() for text, mail in zip(said, mails))
    assert "SF1234567890" in mails[1].get_content() and f"/orders/{order_id}" in mails[1].get_content()


def test_cancelling_mails_the_buyer_and_is_audited(app, api, make):
    product, buyer = make.product(stock=5), make.user()
    order_id = place(api, buyer, (product, 1)).get_json()["orders"][0]["id"]
    api("post", f"/orders/{order_id}/cancel", user=buyer)
    assert audit_actions(order_id) == ["order.cancelled"]
    assert len(mails_to(app, buyer.email)) == 1
