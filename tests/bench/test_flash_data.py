"""The flash-sale benchmark writes its per-round products and tokens, and checks for oversell,
in whichever database the app serves from (bench/flash_data.py): the same code on PostgreSQL and
on the SQLite copy. Run on the test database, SQLite by default, PostgreSQL with TEST_DATABASE_URL.
The checkouts go through the real API, as the benchmark's crowd sends them."""
from urllib.parse import urlsplit

import pytest

from bench import flash_data
from bench.run_flash_sale import ADDRESS
from marketplace.catalog.models import Product
from marketplace.extensions import db


def _setup(app, make, buyers=3):
    """A seeded product (the template) and `buyers` benchmark buyers with a token each."""
    with app.app_context():
        template = make.product(make.coop(), stock=50, per_buyer_limit=5, title="Wood ear 木耳")
        for i in range(1, buyers + 1):
            make.user(email=f"buyer{i}@{flash_data.BUYER_DOMAIN}")
        return template.id, template.cooperative_id


def _checkout(client, token, product_id, n):
    return client.post("/api/v1/checkouts", headers={"Authorization": f"Bearer {token}",
                                                     "X-Forwarded-For": f"10.0.0.{n}"},
                       json={"items": [{"product_id": product_id, "quantity": 1}], "shipping_address": ADDRESS})


def test_flash_product_is_a_fresh_copy_the_app_reads_back(app_factory, make, _schema):
    app = app_factory()
    template_id, coop_id = _setup(app, make, buyers=0)
    product_id = flash_data.new_flash_product(_schema, 7, "round 1")
    with app.app_context():
        product = db.session.get(Product, product_id)
        assert product_id != template_id and product.cooperative_id == coop_id
        assert product.title == f"{flash_data.FLASH_TITLE} round 1"
        assert (product.stock, product.per_buyer_limit) == (7, None)
        assert product.created_at.tzinfo is not None  # the timestamp written by Core reads back as UTC
        assert db.session.get(Product, template_id).stock == 50
    assert flash_data.new_flash_product(_schema, 7, "round 2") == product_id + 1


def test_check_round_counts_a_sell_out_through_the_api(app_factory, make, _schema):
    app = app_factory()
    _setup(app, make, buyers=3)
    tokens = flash_data.issue_tokens(_schema, 3)
    product_id = flash_data.new_flash_product(_schema, 2, "round 1")
    client = app.test_client()
    answers = [_checkout(client, token, product_id, n) for n, token in enumerate(tokens)]
    assert [a.status_code for a in answers] == [201, 201, 409], [a.get_json() for a in answers]

    unpaid = flash_data.check_round(_schema, product_id, 2)
    assert (unpaid["stock"], unpaid["reserved"], unpaid["checkouts"], unpaid["paid"]) == (0, 2, 2, 0)
    assert not unpaid["ok"]  # reserved but not paid: the round is not complete

    for n, answer in enumerate(answers[:2]):
        path = urlsplit(answer.get_json()["payment"]["confirm_url"]).path
        paid = client.post(path, headers={"Authorization": f"Bearer {tokens[n]}"})
        assert paid.status_code == 200, paid.get_json()
    assert flash_data.check_round(_schema, product_id, 2) == {
        "stock": 0, "reserved": 2, "checkouts": 2, "paid": 2, "held": 2, "ok": True}
    # the same database state judged against a smaller sale is an oversell
    assert not flash_data.check_round(_schema, product_id, 1)["ok"]


def test_issue_tokens_refuses_when_buyers_are_missing(app_factory, make, _schema):
    app = app_factory()
    _setup(app, make, buyers=2)
    with pytest.raises(RuntimeError, match="only 2 benchmark buyers"):
        flash_data.issue_tokens(_schema, 3)


def test_stock_guard_is_found_in_the_migrated_schema(_schema):
    guard = flash_data.stock_guard(_schema)
    assert guard is not None and "stock >= 0" in guard
