"""Bad input and faults from the household-income issue, through the API: every one
is a 4xx with the error shape (never a 500) and leaves the ledger as it was."""
import json

import pytest
from sqlalchemy import select

from marketplace.auth.models import User
from marketplace.auth.services import issue_api_token
from marketplace.extensions import db
from marketplace.households import accrual, ledger
from marketplace.households.identity import with_check_digit
from marketplace.households.models import BenefitLink, Household, LedgerEntry, Payout
from marketplace.orders.models import Order, OrderStatus
from marketplace.payments import services as payments
from marketplace.payments.gateway import GatewayEvent
from marketplace.payments.models import PaymentEvent
from tests.households.test_api import count, error, new_household, world  # noqa: F401 - the fixture
from tests.households.test_ledger import paid_order
from tests.orders.helpers import place

LINKS = "/cooperatives/{}/benefit-links"


def propose(api, w, **over):
    body = {"household_id": w.h2.id, "kind": "supplier", "share_bp": 1000, "valid_from": "2024-01-01", **over}
    return api("post", LINKS.format(w.coop.id), user=w.owner, json=body)


def approve(api, w, link_id):
    return api("post", f"/benefit-links/{link_id}/approve", user=w.staff)


def test_links_that_would_pass_100_percent_are_409(api, world, make):
    # h1 already holds 10% of the whole cooperative (the world fixture)
    big = propose(api, world, share_bp=8000, product_id=world.product.id).get_json()
    assert approve(api, world, big["id"]).status_code == 200  # 90% on the product
    error(propose(api, world, kind="wage", share_bp=1001), 409, "shares_exceed_100")
    # two proposals that each fit but not together: the second approval is refused
    a = propose(api, world, kind="wage", share_bp=1000, valid_from="2030-01-01").get_json()
    b = propose(api, world, kind="dividend", share_bp=500, valid_from="2030-01-01").get_json()
    assert approve(api, world, a["id"]).status_code == 200
    error(approve(api, world, b["id"]), 409, "shares_exceed_100")
    assert db.session.get(BenefitLink, b["id"]).status.value == "proposed"


def test_the_proposer_cannot_approve_their_own_link(api, make, world):
    staff_owner = make.staff()
    coop = make.coop(owner=staff_owner)  # a staff member who also runs a cooperative
    link = api("post", LINKS.format(coop.id), user=staff_owner, json={
        "household_id": world.h2.id, "kind": "wage", "fixed_fen_per_unit": 50, "valid_from": "2024-01-01"}).get_json()
    error(api("post", f"/benefit-links/{link['id']}/approve", user=staff_owner), 403, "two_person_rule")
    assert db.session.get(BenefitLink, link["id"]).status.value == "proposed"


@pytest.mark.parametrize("second", [{"valid_from": "2024-06-01"},
                                    {"valid_from": "2023-01-01", "valid_to": "2024-01-01"}])
def test_overlapping_link_periods_are_409(api, world, second):
    assert propose(api, world, valid_to="2024-12-31").status_code == 201
    error(propose(api, world, **second), 409, "overlapping_link")
    assert propose(api, world, valid_from="2025-01-01").status_code == 201  # the day after: fine


@pytest.mark.parametrize("override,status", [
    ({"share_bp": None}, 422), ({"fixed_fen_per_unit": 5}, 422), ({"share_bp": 0}, 422), ({"share_bp": 10001}, 422),
    ({"share_bp": "500"}, 422), ({"share_bp": 5.5}, 422), ({"kind": "gift"}, 422), ({"valid_from": "01/02/2024"}, 422),
    ({"valid_to": "2023-12-31"}, 422), ({"household_id": 2**40}, 422), ({"household_id": 4242}, 404),
    ({"household_id": 2**31}, 422), ({"product_id": 2**31}, 422),
    ({"link_key": "x' OR 1=1"}, 422), ({"link_key": "0" * 32}, 404), ({"note": "a\x00b"}, 422),
])
def test_bad_link_proposals_are_4xx(api, world, override, status):
    error(propose(api, world, **override), status)


@pytest.mark.parametrize("amount,status,code", [(501, 409, "exceeds_balance"), (0, 422, None), (-100, 422, None),
                                                ("100", 422, None), (1.5, 422, None), (True, 422, None),
                                                (None, 422, None), (10**30, 422, None)])
def test_payouts_above_the_balance_or_not_positive_are_refused_and_change_nothing(api, world, make, amount, status,
                                                                                   code):
    paid_order(make, world.product, 5)  # 500 owed to h1
    before = count(LedgerEntry)
    body = {"household_id": world.h1.id, "amount_fen": amount, "method": "cash"}
    error(api("post", f"/cooperatives/{world.coop.id}/payouts", user=world.owner, json=body), status, code)
    assert (count(LedgerEntry), count(Payout), ledger.balance(world.h1.id, world.coop.id)) == (before, 0, 500)


@pytest.mark.parametrize("body", [{"method": "cheque"}, {"household_id": "1"}, {"paid_on": "2999-01-01"},
                                  {"reference": "x" * 81}, {"household_id": 4242}])
def test_bad_payout_fields_are_4xx(api, world, make, body):
    paid_order(make, world.product, 5)
    response = api("post", f"/cooperatives/{world.coop.id}/payouts", user=world.owner,
                   json={"household_id": world.h1.id, "amount_fen": 100, "method": "cash", **body})
    error(response, 404 if body.get("household_id") == 4242 else 422)


def test_a_cooperative_cannot_pay_out_to_or_read_another_cooperatives_household(api, world, make):
    paid_order(make, world.product, 5)  # coop owes h1 500; other owes it nothing
    error(api("post", f"/cooperatives/{world.other.id}/payouts", user=world.other_owner,
              json={"household_id": world.h1.id, "amount_fen": 1, "method": "cash"}), 409, "exceeds_balance")
    error(api("post", f"/cooperatives/{world.coop.id}/payouts", user=world.other_owner,
              json={"household_id": world.h1.id, "amount_fen": 1, "method": "cash"}), 403)
    error(api("get", f"/households/{world.h1.id}/ledger", user=world.other_owner), 404)
    error(propose(api, world, product_id=make.product(world.other).id), 404)  # their product in our link


@pytest.mark.parametrize("id_number,code", [
    (with_check_digit("61042619800101999")[:-1] + "0", "invalid_id_number"),  # wrong check character
    ("610426198002301234", "invalid_id_number"),  # 30 February
    ("61042619800101123", "invalid"), ("61042619800101123A", "invalid_id_number"), (610426198001011234, None),
])
def test_bad_identity_numbers_are_422(api, world, id_number, code):
    if code == "invalid_id_number":
        assert id_number != with_check_digit(id_number[:17])
    response = api("post", "/households", user=world.staff, json=new_household(9, id_number=id_number))
    error(response, 422, code)
    assert count(Household) == 2


def test_duplicate_file_or_identity_numbers_are_409(api, world):
    first = api("post", "/households", user=world.staff, json=new_household(9)).get_json()
    error(api("post", "/households", user=world.staff,
              json=new_household(10, file_no=first["file_no"])), 409, "duplicate_household")
    error(api("post", "/households", user=world.staff,
              json=new_household(10, id_number=new_household(9)["id_number"].lower())), 409, "duplicate_household")
    error(api("patch", f"/households/{world.h1.id}", user=world.staff, json={"file_no": first["file_no"]}), 409)
    error(api("patch", f"/households/{world.h1.id}", user=world.staff,
              json={"id_number": new_household(9)["id_number"]}), 409, "duplicate_household")
    assert count(Household) == 3


@pytest.mark.parametrize("data,status", [("not json", 400), ("[]", 422), ({"members": "3"}, 422),
                                         ({"enrolled_at": "2999-01-01"}, 422), ({"working_members": 9}, 422),
                                         ({"status": "rich"}, 422), ({"id": 5}, 422), ({"head_name": None}, 422),
                                         ({"county": "x" * 61}, 422), ({"file_no": "a\x00b"}, 422),
                                         ({"head_name": "\ud800"}, 422)])
def test_malformed_household_bodies_are_4xx(client, world, data, status):
    raw, _ = issue_api_token(world.staff)
    db.session.commit()
    body = json.dumps({**new_household(11), **data}) if isinstance(data, dict) else data
    response = client.post("/api/v1/households", data=body, content_type="application/json",
                           headers={"Authorization": f"Bearer {raw}"})
    error(response, status)
    assert count(Household) == 2


@pytest.mark.parametrize("path", ["/households?page=0", "/households?per_page=1000", "/households?status=rich",
                                  "/households?q=%00", "/households?county=" + "x" * 61, "/households/1/ledger?page=x",
                                  "/households/1/ledger?cooperative_id=99999999999",
                                  "/cooperatives/1/benefit-links?status=maybe",
                                  "/cooperatives/1/benefit-links?household_id=-1"])
def test_bad_query_strings_are_422(api, world, path):
    error(api("get", path.replace("/1/", f"/{world.h1.id if 'households' in path else world.coop.id}/"),
              user=world.staff), 422)


def test_a_payment_event_delivered_twice_accrues_once(api, world, make):
    order = paid_order(make, world.product, 2)
    checkout = order.checkout
    assert count(LedgerEntry) == 1
    event = GatewayEvent(id=f"demo_evt_{checkout.id}", type="payment_intent.succeeded",
                         payment_intent_id=checkout.payment_intent_id, amount_fen=checkout.amount_fen,
                         currency=checkout.currency)
    assert payments.handle_event("demo", event) == "duplicate"
    db.session.commit()
    again = api("post", f"/checkouts/{checkout.id}/demo-confirm", user=db.session.get(User, checkout.buyer_id))
    assert again.status_code == 200
    assert count(LedgerEntry) == 1 and ledger.balance(world.h1.id, world.coop.id) == 200


def test_a_refund_beyond_what_is_left_is_422_and_the_ledger_is_unchanged(api, world, make):
    order = paid_order(make, world.product, 4)  # 4000 -> 400
    line = order.lines[0].id
    path = f"/orders/{order.id}/refunds"
    assert api("post", path, user=world.owner, json={"amount_fen": 1000}).status_code == 201
    assert ledger.balance(world.h1.id, world.coop.id) == 300
    before = count(LedgerEntry)
    error(api("post", path, user=world.owner, json={"amount_fen": 3001}), 422)
    error(api("post", path, user=world.owner, json={"lines": [{"order_line_id": line, "quantity": 5}]}), 422)
    assert api("post", path, user=world.owner, json={"amount_fen": 3000}).status_code == 201
    assert ledger.balance(world.h1.id, world.coop.id) == 0
    after = count(LedgerEntry)
    error(api("post", path, user=world.owner, json={"amount_fen": 1}), 409, "not_refundable")  # refund of a refund
    assert count(LedgerEntry) == after == before + 1 and ledger.verify()["ok"]


def test_a_crash_between_payment_and_accrual_leaves_neither(api, world, make, monkeypatch):
    checkout = place(api, world.buyer, (world.product, 3)).get_json()

    def crash(paid):
        raise RuntimeError("the ledger's disk is full")

    monkeypatch.setattr(accrual, "accrue_orders", crash)
    response = api("post", f"/checkouts/{checkout['id']}/demo-confirm", user=world.buyer)
    error(response, 500, "server_error")
    order = db.session.scalar(select(Order).where(Order.checkout_id == checkout["id"]))
    assert order.status == OrderStatus.pending_payment and order.paid_at is None
    assert count(LedgerEntry) == 0 and count(PaymentEvent) == 0  # the event may be delivered again
    monkeypatch.undo()
    assert api("post", f"/checkouts/{checkout['id']}/demo-confirm", user=world.buyer).status_code == 200
    db.session.refresh(order)
    assert order.status == OrderStatus.paid and ledger.balance(world.h1.id, world.coop.id) == 300
