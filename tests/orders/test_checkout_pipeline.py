"""The API's one-line checkout on PostgreSQL commits with its statement, in one round
trip (orders/placing_pg.py): the product's row is free again as soon as the commit is
on disk, not when the request's thread gets round to sending the COMMIT. The buyers
of a flash sale queue for that row, so this is what bounds how fast it sells."""
import threading
import time

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.exc import OperationalError

from marketplace.extensions import db
from marketplace.orders import placing_pg, placing_token
from marketplace.orders.models import Checkout
from marketplace.payments import services
from marketplace.auth.services import issue_api_token
from tests.orders.helpers import ADDRESS, items, place, snapshot, stock


@pytest.fixture
def postgresql(app):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only (TEST_DATABASE_URL=postgresql://...): SQLite checkouts write in a "
                    "BEGIN IMMEDIATE transaction of separate statements, committed by the view")
    other = create_engine(db.engine.url)
    yield other
    other.dispose()


def test_the_reservation_is_committed_and_the_row_free_before_the_request_ends(app, api, make, monkeypatch,
                                                                               postgresql):
    buyer, product = make.user(), make.product(stock=5)
    seen = {}
    payment_info = services.payment_info

    def look_from_another_connection(placed, *args):
        # still inside the request, before its own commit: another buyer's transaction
        with postgresql.connect() as other:
            other.execute(text("SET lock_timeout = '1ms'"))  # waiting for the row at all is the failure
            seen["stock"] = other.execute(text("SELECT stock FROM products WHERE id = :id FOR UPDATE"),
                                          {"id": product.id}).scalar_one()
            seen["checkout"] = other.execute(select(Checkout.status).where(Checkout.id == placed.id)).scalar()
            other.rollback()
        return payment_info(placed, *args)

    monkeypatch.setattr(services, "payment_info", look_from_another_connection)
    response = place(api, buyer, (product, 2))
    assert response.status_code == 201, response.get_json()
    assert seen == {"stock": 3, "checkout": "pending_payment"}
    assert stock(product) == 3


def test_a_refusal_in_the_pipelined_statement_writes_nothing(app, api, make, postgresql):
    buyer, product = make.user(), make.product(stock=3, per_buyer_limit=2)
    assert place(api, buyer, (product, 2)).status_code == 201
    before = snapshot(product)
    refused = place(api, buyer, (product, 1))
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "per_buyer_limit"
    assert snapshot(product) == before
    other = make.user()
    assert place(api, other, (product, 1)).status_code == 201  # the connection went back to the pool clean
    assert stock(product) == 0


def test_a_connection_lost_in_the_checkouts_statement_is_a_503_and_the_next_checkout_works(app, api, make,
                                                                                          monkeypatch, postgresql):
    buyer, product = make.user(), make.product(stock=5)
    compiled = placing_token._compiled

    def dies(dialect):  # the server goes away while it runs the checkout
        return placing_pg.Compiled("SELECT pg_terminate_backend(pg_backend_pid())", compiled(dialect).processors)

    monkeypatch.setattr(placing_token, "_compiled", dies)
    before = snapshot(product)
    lost = place(api, buyer, (product, 1))
    assert lost.status_code == 503 and lost.get_json()["error"]["code"] == "unavailable"
    assert snapshot(product) == before
    monkeypatch.setattr(placing_token, "_compiled", compiled)
    assert place(api, buyer, (product, 1)).status_code == 201
    assert stock(product) == 4


def test_a_database_error_in_the_pipelined_statement_is_raised_as_sqlalchemy_raises_it(app, postgresql):
    with app.test_request_context("/"):
        connection = db.session.connection()
        bad = placing_pg.Compiled("SELECT 1 / 0", {})
        with pytest.raises(Exception) as raised:
            placing_pg._execute(connection, bad, {}, commit=True)
        assert type(raised.value).__module__.startswith("sqlalchemy"), raised.value
        assert not isinstance(raised.value, OperationalError)  # a bug, not an outage: the app's 500
        db.session.rollback()


def test_a_buyer_who_waits_for_the_row_while_another_takes_the_last_unit_gets_409_and_nothing(
        app, make, postgresql):
    """The one statement saw one unit left (as last committed) and wrote its rows; its
    guarded UPDATE then waited for another transaction, which took that unit. The guard
    refuses, the statement fails as a whole: the answer names the product, and no
    checkout, count or audit record is left."""
    buyer, product = make.user(), make.product(stock=1, title="Last bag of wood-ear")
    raw, _ = issue_api_token(buyer)
    db.session.commit()
    before = snapshot(product)
    answer = {}

    def buy():
        answer["response"] = app.test_client().post(
            "/api/v1/checkouts", json={"items": items((product, 1)), "shipping_address": ADDRESS},
            headers={"Authorization": f"Bearer {raw}"})

    with postgresql.connect() as other, postgresql.connect().execution_options(isolation_level="AUTOCOMMIT") as watch:
        other.execute(text("UPDATE products SET stock = 0 WHERE id = :id"), {"id": product.id})  # holds the row
        buyer_thread = threading.Thread(target=buy)
        buyer_thread.start()
        _wait_until(lambda: watch.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
        )).scalar_one() == 1 or not buyer_thread.is_alive())
        assert buyer_thread.is_alive(), answer  # it was waiting for the row, not answered already
        other.commit()
        buyer_thread.join(10)
    response = answer["response"]
    assert response.status_code == 409, response.get_json()
    assert response.get_json()["error"]["code"] == "insufficient_stock"
    assert "Last bag of wood-ear" in response.get_json()["error"]["message"]
    assert snapshot(product) == {**before, "stock": [0]}


def _wait_until(condition, seconds=10.0):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the condition did not come true"
        time.sleep(0.01)
