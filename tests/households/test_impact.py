"""What buyers see: the share line on a product page, the amount an order
returned, and the public impact page (hand-computed figures, small counties
pooled, never a name or an identity number, a fixed number of queries)."""

import pytest

from marketplace.core.clock import local_today
from marketplace.auth.models import User
from marketplace.extensions import db
from marketplace.households import impact
from marketplace.households.identity import with_check_digit
from marketplace.households.services import create_household
from marketplace.payments import services as payments
from tests.conftest import main_html, owner_of
from tests.households.test_ledger import approved_link, paid_order
from tests.households.test_views import client_for, full_number


def enrol(staff, n, county):
    return create_household(staff, {
        "file_no": f"FILE-{n:05d}", "head_name": f"Head Person {n}",
        "id_number": with_check_digit(f"61042419850202{n:03d}"), "province": "Shaanxi", "county": county,
        "township": "Town", "village": f"Village {n}", "members": 2, "working_members": 1,
        "enrolled_at": "2020-01-01", "consent": True})


@pytest.fixture
def shop(make):
    """Three households in Zhashui, one in Shanyang; a ¥10.00 product; two paid
    orders (2 units and 1 unit), then 1 unit of the first refunded.

    Per unit (1000 fen): h1 10% = 100, h2 5% = 50, h3 fixed 50, h4 2% = 20.
    Order 1 accrues 2 x 220 = 440, order 2 accrues 220; the refund reverses 220.
    Income after the refund: Zhashui (100 + 50 + 50) x 2 = 400, Shanyang (one
    household: pooled as "other") 20 x 2 = 40, total 440."""
    staff = make.staff()
    households = [enrol(staff, 1, "Zhashui"), enrol(staff, 2, "Zhashui"), enrol(staff, 3, "Zhashui"),
                  enrol(staff, 4, "Shanyang")]
    db.session.commit()
    coop = make.coop()
    product = make.product(coop, price_fen=1000, stock=500)
    h1, h2, h3, h4 = households
    approved_link(make, coop, h1.id, share_bp=1000)
    approved_link(make, coop, h2.id, share_bp=500)
    approved_link(make, coop, h3.id, fixed_fen_per_unit=50)
    approved_link(make, coop, h4.id, share_bp=200)
    first, second = paid_order(make, product, 2), paid_order(make, product, 1)
    return coop, product, households, first, second


def refund_one_unit(coop, order):
    payments.refund_order(owner_of(coop), order, lines=[{"order_line_id": order.lines[0].id, "quantity": 1}])
    db.session.commit()


def test_the_figures_equal_hand_computed_sums(shop):
    coop, _, _, first, _ = shop
    assert impact.totals() == {"label": None, "income_fen": 660, "households": 4, "orders": 2}
    refund_one_unit(coop, first)
    assert impact.totals() == {"label": None, "income_fen": 440, "households": 4, "orders": 2}
    assert impact.by_county() == [
        {"label": "Zhashui", "province": "Shaanxi", "income_fen": 400, "households": 3, "orders": 2},
        {"label": None, "province": None, "income_fen": 40, "households": 1, "orders": 2}]
    months = impact.by_month()
    assert len(months) == 12 and months[-1]["label"] == local_today().strftime("%Y-%m")
    assert months[-1] | {"label": None} == {"label": None, "income_fen": 440, "households": 4, "orders": 2}
    assert sum(m["income_fen"] for m in months[:-1]) == 0


def test_the_impact_page_shows_the_figures_and_no_household(app, shop):
    coop, _, households, first, _ = shop
    refund_one_unit(coop, first)
    response = app.test_client().get("/impact")
    html = response.get_data(as_text=True)
    page = main_html(response)
    assert response.status_code == 200
    assert '<dd class="hh-total-income">¥4.40</dd>' in page and '<dd class="hh-total-households">4</dd>' in page
    assert "<th scope=\"row\">Zhashui, Shaanxi</th><td>¥4.00</td><td>3</td><td>2</td>" in page
    assert "<th scope=\"row\">Other counties</th><td>¥0.40</td><td>1</td><td>2</td>" in page
    assert "Shanyang" not in page  # one household there: pooled, not named
    assert '<svg class="hh-chart"' in page and 'id="impact-months-title"' in page
    for h in households:
        for secret in (h.head_name, h.file_no, h.id_number_masked, full_number(h), h.village):
            assert secret not in html


def test_the_impact_page_costs_the_same_queries_with_more_rows(app, make, shop, count_queries):
    coop, product, *_ = shop
    client = app.test_client()
    with count_queries() as q:
        assert client.get("/impact").status_code == 200
    before = q.count
    staff = make.staff()
    for n in range(5, 12):
        h = enrol(staff, n, f"County {n % 2}")
        db.session.commit()
        approved_link(make, coop, h.id, share_bp=100)
    for quantity in (1, 2, 3):
        paid_order(make, product, quantity)
    with count_queries() as q:
        page = main_html(client.get("/impact"))
    assert q.count == before, q.statements
    assert "County 1, Shaanxi" in page  # four households there now: shown by name


def test_an_empty_impact_page(app):
    page = main_html(app.test_client().get("/impact"))
    assert "¥0.00" in page and "No sales have returned income to households yet." in page


# --- the product and order pages ------------------------------------------------

def test_the_product_page_states_the_share_honestly(app, make, shop, count_queries):
    _, product, *_ = shop
    path = f"/products/{product.id}"
    with count_queries() as q:
        page = main_html(app.test_client().get(path))
    assert "¥0.50 per unit and 17% of this sale go to 4 enrolled households" in page
    # the product with its cooperative and photos, the cooperative's other goods and the share
    assert sum(1 for sql in q.statements if sql.strip().upper() != "BEGIN") == 1, "\n".join(q.statements)


@pytest.mark.parametrize("rules, expected", [
    ([{"share_bp": 1250}], "12.5% of this sale goes to 1 enrolled household"),
    ([{"fixed_fen_per_unit": 30}, {"fixed_fen_per_unit": 20}],
     "¥0.50 per unit of this sale goes to 2 enrolled households"),
    ([{"share_bp": 1000, "valid_to": "2020-12-31"}], None),  # expired: nothing goes to anyone today
    ([], None),
])
def test_the_share_line_for_each_kind_of_rule(app, make, rules, expected):
    staff = make.staff()
    coop = make.coop()
    product = make.product(coop)
    for n, rule in enumerate(rules, start=1):
        h = enrol(staff, n, "Zhashui")
        db.session.commit()
        approved_link(make, coop, h.id, **rule)
    page = main_html(app.test_client().get(f"/products/{product.id}"))
    if expected:
        assert expected in page
    else:
        assert "enrolled household" not in page and 'class="hh-share"' not in page


def test_the_order_page_shows_what_the_order_returned(app, shop):
    coop, _, _, first, second = shop
    buyer = client_for(app, db.session.get(User, first.buyer_id))
    assert "¥4.40 of this order went to enrolled rural households." in main_html(buyer.get(f"/orders/{first.id}"))
    refund_one_unit(coop, first)
    assert "¥2.20 of this order went to enrolled rural households." in main_html(buyer.get(f"/orders/{first.id}"))
    assert impact.returned_by_order(second) == 220
