"""The API's one-line checkout on PostgreSQL commits with its statement, in one round
trip (orders/placing_pg.py): the product's row is free again as soon as the commit is
on disk, not when the request's thread gets round to sending the COMMIT. The buyers
of a flash sale queue for that row, so this is what bounds how fast it sells."""
import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.exc import OperationalError

from marketplace.extensions import db
from marketplace.orders import placing_pg
from marketplace.orders.models import Checkout
from marketplace.payments import services
from tests.orders.helpers import place, snapshot, stock


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


def test_a_connection_lost_in_the_pipelined_statement_is_a_503_and_the_next_checkout_works(app, api, make,
                                                                                           monkeypatch, postgresql):
    buyer, product = make.user(), make.product(stock=5)
    compiled = placing_pg._compiled

    def dies(dialect, one_line, limited):  # the server goes away while it runs the checkout
        real = compiled(dialect, one_line, limited)
        return placing_pg._Compiled("SELECT pg_terminate_backend(pg_backend_pid())", real.processors)

    monkeypatch.setattr(placing_pg, "_compiled", dies)
    before = snapshot(product)
    lost = place(api, buyer, (product, 1))
    assert lost.status_code == 503 and lost.get_json()["error"]["code"] == "unavailable"
    assert snapshot(product) == before
    monkeypatch.setattr(placing_pg, "_compiled", compiled)
    assert place(api, buyer, (product, 1)).status_code == 201
    assert stock(product) == 4


def test_a_database_error_in_the_pipelined_statement_is_raised_as_sqlalchemy_raises_it(app, postgresql):
    with app.test_request_context("/"):
        connection = db.session.connection()
        bad = placing_pg._Compiled("SELECT 1 / 0", {})
        with pytest.raises(Exception) as raised:
            placing_pg._execute(connection, bad, {}, commit=True)
        assert type(raised.value).__module__.startswith("sqlalchemy"), raised.value
        assert not isinstance(raised.value, OperationalError)  # a bug, not an outage: the app's 500
        db.session.rollback()
