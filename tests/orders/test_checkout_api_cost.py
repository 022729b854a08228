"""The checkout API under a flash-sale crowd: its 201 body is built from what the
request wrote (no reading back after the commit), and it still tells the truth."""
import pytest
from sqlalchemy import event

from marketplace.auth.services import issue_api_token
from marketplace.extensions import db
from marketplace.observability import logs
from tests.orders.helpers import ADDRESS, items, place


@pytest.mark.parametrize("products", [2, 1], ids=["two cooperatives", "one line (the flash-sale statement)"])
def test_the_201_body_is_exactly_what_the_checkout_reads_back_afterwards(api, make, products):
    buyer, rice, tea = make.user(), make.product(stock=5), make.product(stock=5)
    placed = place(api, buyer, *[(rice, 2), (tea, 1)][:products])
    assert placed.status_code == 201, placed.get_json()
    body = placed.get_json()
    assert len(body["orders"]) == products and all(o["events"] == [] for o in body["orders"])

    again = api("get", f"/checkouts/{body['id']}", user=buyer)
    assert again.status_code == 200 and again.get_json() == body


@pytest.fixture
def json_app(app_factory, app):
    """The app logging JSON access lines, as in production (on the test database); its
    handler on the root logger is taken off afterwards, so later tests' output is their own."""
    yield app_factory(LOG_FORMAT="json")
    logs.uninstall()


def test_placing_a_checkout_sends_no_sql_after_its_commit(json_app, make, capsys):
    """The access log names the buyer and the body shows the orders without
    reloading user, membership, checkout, orders, lines or events."""
    buyer, product = make.user(), make.product(stock=5)
    raw, _ = issue_api_token(buyer)
    db.session.commit()
    with json_app.app_context():
        engine = db.engine
    seen = []
    listeners = [("before_cursor_execute", lambda conn, cursor, statement, *a: seen.append(statement)),
                 ("commit", lambda conn: seen.append("COMMIT"))]
    for name, fn in listeners:
        event.listen(engine, name, fn)
    try:
        response = json_app.test_client().post("/api/v1/checkouts", headers={"Authorization": f"Bearer {raw}"},
                                               json={"items": items((product, 1)), "shipping_address": ADDRESS})
    finally:
        for name, fn in listeners:
            event.remove(engine, name, fn)
    assert response.status_code == 201, response.get_json()
    assert "COMMIT" in seen and seen[-1] == "COMMIT", seen[seen.index("COMMIT"):]
    access = [line for line in capsys.readouterr().err.splitlines() if '"marketplace.access"' in line]
    assert len(access) == 1 and f'"user_id": {buyer.id}' in access[0]
