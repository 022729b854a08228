"""On PostgreSQL the API's one-line checkout runs its reads and its one all-or-nothing
statement in autocommit (placing.statement_per_transaction): no BEGIN, COMMIT or
ROLLBACK round trips for a flash-sale crowd. What must hold: a checkout of more lines
still writes in one transaction, and the connection goes back to the pool as a
transactional one, so the next request's statements are not committed one by one."""
import pytest
from sqlalchemy import text

from marketplace.extensions import db
from marketplace.orders import placing_pg
from tests.orders.helpers import place, snapshot, stock


@pytest.fixture
def seen_connections(app, monkeypatch):
    """The psycopg connection each checkout statement ran on, and whether it was in autocommit then."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only (TEST_DATABASE_URL=postgresql://...): SQLite checkouts write in a "
                    "BEGIN IMMEDIATE transaction, and placing_pg is PostgreSQL's statement")
    seen = []
    execute = placing_pg._execute

    def watch(connection, compiled, params, commit):
        driver = connection.connection.driver_connection
        seen.append((driver, driver.autocommit))
        return execute(connection, compiled, params, commit)

    monkeypatch.setattr(placing_pg, "_execute", watch)
    return seen


def test_a_one_line_checkout_runs_in_autocommit_and_hands_back_a_transactional_connection(
        app, api, make, seen_connections):
    buyer, product = make.user(), make.product(stock=5)
    assert place(api, buyer, (product, 2)).status_code == 201
    [(driver, autocommit)] = seen_connections
    assert autocommit is True
    assert driver.autocommit is False  # reset when the request's session gave it back to the pool
    assert stock(product) == 3


def test_a_checkout_of_two_products_still_writes_in_one_transaction(app, api, make, seen_connections):
    buyer, one, two = make.user(), make.product(stock=5), make.product(stock=5)
    assert place(api, buyer, (one, 1), (two, 1)).status_code == 201
    [(_, autocommit)] = seen_connections
    assert autocommit is False
    assert (stock(one), stock(two)) == (4, 4)


def test_a_sold_out_product_refused_in_autocommit_leaves_nothing_and_the_next_request_is_transactional(
        app, api, make, seen_connections):
    buyer, late, product, other = make.user(), make.user(), make.product(stock=1), make.product(stock=3)
    assert place(api, buyer, (product, 1)).status_code == 201
    before = snapshot(product, other)
    refused = place(api, late, (product, 1))
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "insufficient_stock"
    assert snapshot(product, other) == before
    # the same pooled connection now serves a request of two statements that must not half-commit
    with app.test_request_context("/"):
        db.session.execute(text("UPDATE products SET stock = stock - 1 WHERE id = :id"), {"id": other.id})
        assert db.session.connection().connection.driver_connection.autocommit is False
        db.session.rollback()
    assert stock(other) == 3
