"""The product page's one read (catalog.product_page): what it shows, to whom, and on
PostgreSQL without a transaction of its own (core.db.without_transaction)."""
import re

import pytest
from sqlalchemy import event

from marketplace.extensions import db
from tests.conftest import PASSWORD, main_html, owner_of

EN = {"Accept-Language": "en"}


def titles(html):
    return re.findall(r'<span class="card-title">([^<]+)</span>', html)


def test_more_from_the_cooperative_shows_four_surplus_first_then_newest(client, make):
    coop = make.coop()
    shown = make.product(coop, title="Wood-ear 250 g")
    for n, surplus in enumerate([False, True, False, True, False, False]):
        make.product(coop, title=f"Other {n}", surplus=surplus, price_fen=1000 + n)
    make.product(coop, title="Draft jar", status="draft")
    make.product(make.coop(), title="Somebody else's")
    html = main_html(client.get(f"/products/{shown.id}", headers=EN))
    assert titles(html) == ["Other 3", "Other 1", "Other 5", "Other 4"]
    cards = html.split('<ul class="grid">', 1)[1]
    assert cards.count("Surplus") == 2 and "¥10.03" in cards and "¥10.05" in cards


def test_a_product_with_no_photo_other_goods_or_household_link(client, make):
    lone = make.product(make.coop(), title="Only jar", price_fen=2590, stock=3)
    html = main_html(client.get(f"/products/{lone.id}", headers=EN))
    assert "Only jar" in html and "¥25.90" in html and "3 in stock" in html
    assert 'class="noimg big"' in html and "More from" not in html and "enrolled household" not in html


def test_a_draft_is_shown_to_its_cooperatives_members_and_county_staff_only(app, make):
    from tests.security.test_staff_county_scope import county_staff

    coop = make.coop(county="Yanggao")
    draft = make.product(coop, title="Unlisted day lilies", status="draft")
    other_member = owner_of(make.coop(county="Yanggao"))
    for user, status in [(None, 404), (owner_of(coop), 200), (other_member, 404),
                         (county_staff(make, "Yanggao"), 200), (county_staff(make, "Zhashui"), 404)]:
        client = app.test_client()
        if user is not None:
            client.post("/login", data={"email": user.email, "password": PASSWORD})
        response = client.get(f"/products/{draft.id}", headers=EN)
        assert response.status_code == status, (user and user.email, response.status_code)
        if status == 200:
            html = response.get_data(as_text=True)
            assert "Unlisted day lilies" in html and "Not on sale" in html
    assert app.test_client().get("/products/999999", headers=EN).status_code == 404


@pytest.fixture
def statements(app):
    """(SQL, whether the driver connection was in autocommit) of each statement sent."""
    seen = []

    def record(conn, cursor, statement, *args):
        seen.append((statement, conn.connection.driver_connection.autocommit))

    event.listen(db.engine, "before_cursor_execute", record)
    yield seen
    event.remove(db.engine, "before_cursor_execute", record)


def test_on_postgresql_a_visitors_product_page_is_one_statement_with_no_transaction(app, make, statements):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only (TEST_DATABASE_URL=postgresql://...): SQLite transactions cost no round trip")
    product = make.product(make.coop(), title="Helan red 2024")
    buyer = make.user()
    path = f"/products/{product.id}"
    db.session.commit()
    statements.clear()
    assert app.test_client().get(path, headers=EN).status_code == 200
    assert [autocommit for _, autocommit in statements] == [True], statements  # no BEGIN, no ROLLBACK
    # a member's page reads their account too, also outside a transaction; the pool gives the
    # next request its connection out of autocommit, so a form's writes are one transaction
    member = app.test_client()
    assert member.post("/login", data={"email": buyer.email, "password": PASSWORD}).status_code == 302
    statements.clear()
    assert member.get(path, headers=EN).status_code == 200
    assert len(statements) > 1 and all(autocommit for _, autocommit in statements)
    statements.clear()
    assert member.post("/cart/add", data={"product_id": product.id, "quantity": 2}).status_code == 302
    assert statements and not any(autocommit for _, autocommit in statements)
    assert "Helan red 2024" in main_html(member.get("/cart", headers=EN))
