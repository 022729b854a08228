"""The cooperative's order desk and sales dashboard: who may open them, what the
tabs and filters show, shipping and refunding from the desk, the CSV export and
the dashboard's figures (checked against sums worked out by hand)."""
import csv
import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from marketplace.coops.services import invite_member
from marketplace.core.db import utcnow
from marketplace.extensions import db
from marketplace.orders import sales
from marketplace.orders.checkout import WantedLine, place_checkout
from marketplace.orders.models import Order, OrderStatus, Refund
from marketplace.payments.services import confirm_demo, refund_order, start_payment
from tests.conftest import PASSWORD, main_html, owner_of

ADDRESS = {"name": "张三", "phone": "13800000000", "province": "陕西省", "city": "商洛市",
           "address": "柞水县 小岭镇 1 号"}

#: a form's CSRF field, whatever the order of its attributes
CSRF_INPUT = re.compile(r'<input(?=[^>]*name="csrf_token")[^>]*value="([^"]+)"')


def buy(buyer, items, address=None, paid=True) -> Order:
    """One checkout of [(product, quantity)] from one cooperative; returns its order."""
    checkout = place_checkout(buyer, [WantedLine(p.id, q) for p, q in items], address or ADDRESS, "demo")
    start_payment(checkout)
    if paid:
        confirm_demo(buyer, checkout)
    db.session.commit()
    return checkout.orders[0]


def shift(order, **ago):
    """Move an order's placing and payment into the past."""
    when = utcnow() - timedelta(**ago)
    order.created_at = when
    order.paid_at = when if order.paid_at else None
    db.session.commit()


def client_as(app, user):
    client = app.test_client()
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302
    return client


@pytest.fixture
def shop(app, make):
    """A cooperative with two products, a buyer, and the owner signed in."""
    coop = make.coop()
    owner = owner_of(coop)
    huanghua = make.product(coop, title="黄花菜 干货", price_fen=2500, stock=100)
    muer = make.product(coop, title="Wood-ear fungus", price_fen=1000, stock=100)
    buyer = make.user(name="Buyer")
    return type("Shop", (), dict(coop=coop, owner=owner, huanghua=huanghua, muer=muer, buyer=buyer,
                                 client=client_as(app, owner)))


def order_ids(response):
    html = main_html(response)
    return {int(part.split('"', 1)[0]) for part in html.split('href="/my/orders/')[1:]
            if part.split('"', 1)[0].isdigit()}


# --- access ---------------------------------------------------------------------

def test_owner_and_manager_may_open_the_desk_others_may_not(app, make, shop):
    order = buy(shop.buyer, [(shop.muer, 1)])
    manager, host = make.user(), make.user()
    invite_member(shop.owner, shop.coop, manager.email, "manager")
    invite_member(shop.owner, shop.coop, host.email, "host")
    db.session.commit()
    pages = ["/my/orders", f"/my/orders/{order.id}", "/my/orders/export.csv", "/my/sales"]
    as_manager, as_host, as_buyer = (client_as(app, u) for u in (manager, host, shop.buyer))
    for path in pages:
        assert shop.client.get(path).status_code == 200, path
        assert as_manager.get(path).status_code == 200, path
        assert as_host.get(path).status_code == 403, path
        assert as_buyer.get(path).status_code == 403, path
        anonymous = app.test_client().get(path)
        assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"], path


def test_another_cooperatives_order_is_not_found(app, make, shop):
    other = make.coop()
    theirs = buy(shop.buyer, [(make.product(other), 1)])
    assert shop.client.get(f"/my/orders/{theirs.id}").status_code == 404
    response = shop.client.post(f"/my/orders/{theirs.id}/ship", data={"carrier": "SF", "tracking_no": "SF12345"})
    assert response.status_code == 404
    assert db.session.get(Order, theirs.id).shipped_at is None
    assert theirs.id not in order_ids(shop.client.get("/my/orders?tab=all"))


# --- tabs and filters -----------------------------------------------------------

def test_tabs_show_the_right_orders(make, shop):
    fresh = buy(shop.buyer, [(shop.muer, 1)])
    waiting = buy(shop.buyer, [(shop.muer, 2)])
    shift(waiting, days=2)
    sent = buy(shop.buyer, [(shop.huanghua, 1)])
    sent.status, sent.shipped_at, sent.carrier, sent.tracking_no = OrderStatus.shipped, utcnow(), "SF", "SF1"
    db.session.commit()
    unpaid = buy(shop.buyer, [(shop.muer, 1)], paid=False)
    get = lambda tab: order_ids(shop.client.get(f"/my/orders?tab={tab}"))  # noqa: E731
    assert get("new") == {fresh.id}
    assert get("to_ship") == {fresh.id, waiting.id}
    assert get("shipped") == {sent.id}
    assert get("all") == {fresh.id, waiting.id, sent.id}
    assert unpaid.id not in get("all")
    to_ship = main_html(shop.client.get("/my/orders?tab=to_ship"))
    assert to_ship.index(f"#{waiting.id}<") < to_ship.index(f"#{fresh.id}<")  # the longest waiting first
    assert "张三" in to_ship


def test_filters_by_text_and_date(make, shop):
    dried = buy(shop.buyer, [(shop.huanghua, 1)], address={**ADDRESS, "name": "李四"})
    fungus = buy(shop.buyer, [(shop.muer, 1)])
    old = buy(shop.buyer, [(shop.muer, 1)])
    shift(old, days=10)
    get = lambda **args: order_ids(shop.client.get("/my/orders", query_string={"tab": "all", **args}))  # noqa: E731
    assert get(q="黄花") == {dried.id}
    assert get(q="wood-EAR") == {fungus.id, old.id}
    assert get(q="李四") == {dried.id}
    assert get(q=f"#{fungus.id}") == {fungus.id}
    assert get(q="100%") == set()  # LIKE wildcards are matched literally
    today = sales.local_today()
    assert get(date_from=(today - timedelta(days=2)).isoformat()) == {dried.id, fungus.id}
    assert get(date_to=(today - timedelta(days=9)).isoformat()) == {old.id}
    bad = shop.client.get("/my/orders?date_from=yesterday")
    assert bad.status_code == 422 and "error" in main_html(bad)
    reversed_range = shop.client.get(f"/my/orders?date_from={today}&date_to={today - timedelta(days=1)}")
    assert reversed_range.status_code == 422


def test_pagination(make, shop):
    for _ in range(23):
        buy(shop.buyer, [(shop.muer, 1)])
    first, second = shop.client.get("/my/orders?tab=all"), shop.client.get("/my/orders?tab=all&page=2")
    assert len(order_ids(first)) == 20 and len(order_ids(second)) == 3
    assert 'rel="next"' in main_html(first)


# --- ship and refund ------------------------------------------------------------

def test_ship_through_the_desk(shop):
    order = buy(shop.buyer, [(shop.muer, 1)])
    bad = shop.client.post(f"/my/orders/{order.id}/ship", data={"carrier": "SF Express", "tracking_no": "12"})
    assert bad.status_code == 422 and "at least 4" in main_html(bad)
    assert db.session.get(Order, order.id).shipped_at is None
    response = shop.client.post(f"/my/orders/{order.id}/ship",
                                data={"carrier": "SF Express", "tracking_no": "SF1234567"})
    assert response.status_code == 302
    order = db.session.get(Order, order.id)
    assert (order.status, order.carrier, order.tracking_no) == (OrderStatus.shipped, "SF Express", "SF1234567")
    again = shop.client.post(f"/my/orders/{order.id}/ship", data={"carrier": "EMS", "tracking_no": "EMS99999"})
    assert again.status_code == 409 and db.session.get(Order, order.id).carrier == "SF Express"


def test_refund_by_line(shop):
    order = buy(shop.buyer, [(shop.huanghua, 3), (shop.muer, 2)])
    dried = next(line for line in order.lines if line.product_id == shop.huanghua.id)
    response = shop.client.post(f"/my/orders/{order.id}/refund/lines",
                                data={f"qty_{dried.id}": "2", "reason": "damaged"})
    assert response.status_code == 302
    order = db.session.get(Order, order.id)
    assert order.refunded_fen == 5000 and order.status == OrderStatus.partially_refunded
    assert next(line for line in order.lines if line.id == dried.id).refunded_quantity == 2
    db.session.refresh(shop.huanghua)
    assert shop.huanghua.stock == 99  # 100 - 3 bought + 2 back: not shipped yet


def test_refund_by_lines_needs_a_quantity_in_range(shop):
    order = buy(shop.buyer, [(shop.muer, 2)])
    line = order.lines[0]
    for data in ({f"qty_{line.id}": "0"}, {f"qty_{line.id}": "3"}, {f"qty_{line.id}": "x"}):
        assert shop.client.post(f"/my/orders/{order.id}/refund/lines", data=data).status_code == 422, data
    assert db.session.get(Order, order.id).refunded_fen == 0


def test_refund_by_amount(shop):
    order = buy(shop.buyer, [(shop.huanghua, 2)])
    response = shop.client.post(f"/my/orders/{order.id}/refund/amount", data={"amount": "5.50"})
    assert response.status_code == 302
    assert db.session.get(Order, order.id).refunded_fen == 550


@pytest.mark.parametrize("amount", ["abc", "0", "-1", "1.234", "50.01", ""])
def test_a_bad_refund_amount_is_refused_and_changes_nothing(shop, amount):
    order = buy(shop.buyer, [(shop.huanghua, 2)])  # ¥50.00
    response = shop.client.post(f"/my/orders/{order.id}/refund/amount", data={"amount": amount})
    assert response.status_code == 422
    assert 'aria-invalid="true"' in main_html(response)
    order = db.session.get(Order, order.id)
    assert order.refunded_fen == 0 and order.status == OrderStatus.paid
    assert db.session.scalar(select(func.count()).select_from(Refund)) == 0


def test_the_desk_forms_carry_and_need_a_csrf_token(app_factory, shop):
    order = buy(shop.buyer, [(shop.muer, 2)])
    client = app_factory(WTF_CSRF_ENABLED=True).test_client()
    token = lambda html: CSRF_INPUT.search(html).group(1)  # noqa: E731
    login_page = client.get("/login").get_data(as_text=True)
    client.post("/login", data={"email": shop.owner.email, "password": PASSWORD, "csrf_token": token(login_page)})
    for path in (f"/my/orders/{order.id}/ship", f"/my/orders/{order.id}/refund/lines",
                 f"/my/orders/{order.id}/refund/amount"):
        assert client.post(path, data={"carrier": "SF", "tracking_no": "SF12345", "amount": "1"}).status_code == 400
    page = client.get(f"/my/orders/{order.id}").get_data(as_text=True)
    assert page.count('name="csrf_token"') >= 3
    response = client.post(f"/my/orders/{order.id}/refund/amount", data={"amount": "1", "csrf_token": token(page)})
    assert response.status_code == 302 and db.session.get(Order, order.id).refunded_fen == 100


# --- CSV ------------------------------------------------------------------------

def test_csv_export(shop):
    evil = {**ADDRESS, "name": "=HYPERLINK(\"http://x\")", "address": "+1 Cmd", "city": "@SUM(A1)"}
    order = buy(shop.buyer, [(shop.huanghua, 2), (shop.muer, 1)], address=evil)
    other = buy(shop.buyer, [(shop.muer, 1)])
    response = shop.client.get(f"/my/orders/export.csv?tab=all&q=%23{order.id}")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    raw = response.get_data()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0][0] == "Order number" and rows[0][-1] == "Tracking number" and len(rows[0]) == 14
    assert len(rows) == 3 and {int(r[0]) for r in rows[1:]} == {order.id} and other.id not in {r[0] for r in rows}
    dried = next(r for r in rows[1:] if r[8] == "黄花菜 干货")
    assert dried[9:12] == ["2", "25.00", "50.00"]
    assert dried[3] == "'=HYPERLINK(\"http://x\")" and dried[6] == "'@SUM(A1)" and dried[7] == "'+1 Cmd"
    assert dried[4] == "13800000000" and dried[5] == "陕西省"


def test_csv_cells_that_look_like_formulas_are_quoted():
    from marketplace.orders.desk_views import safe_cell

    assert [safe_cell(v) for v in ("=1+1", "+86", "-2", "@x", "\tx", "ok", 12, None)] == \
        ["'=1+1", "'+86", "'-2", "'@x", "'\tx", "ok", "12", ""]


# --- the sales dashboard --------------------------------------------------------

def test_dashboard_figures_match_hand_computed_sums(make, shop):
    a = buy(shop.buyer, [(shop.huanghua, 2), (shop.muer, 3)])  # 5000 + 3000
    b = buy(shop.buyer, [(shop.muer, 1)])  # 1000
    shift(b, days=3)
    c = buy(shop.buyer, [(shop.huanghua, 1)])  # 2500, refunded 1000 by amount below
    refund_order(shop.owner, c, amount_fen=1000)
    d = buy(shop.buyer, [(shop.muer, 4)])  # 4000, one unit refunded below
    refund_order(shop.owner, d, lines=[{"order_line_id": d.lines[0].id, "quantity": 1}])
    old = buy(shop.buyer, [(shop.muer, 5)])
    shift(old, days=40)
    db.session.commit()
    report = sales.sales_report(shop.coop.id, 30)
    assert len(report.per_day) == 30 and report.per_day[-1].label == sales.local_today().isoformat()
    t = report.total
    assert (t.orders, t.units, t.paid_fen, t.refunded_fen) == (4, 2 + 3 + 1 + 1 + 3, 15500, 2000)
    assert t.revenue_fen == 13500
    assert report.per_day[-1].revenue_fen == 5000 + 3000 + 1500 + 3000
    assert report.per_day[-4].orders == 1 and report.per_day[-4].revenue_fen == 1000
    by_title = {p.label: p for p in report.per_product}
    assert [p.label for p in report.per_product] == ["Wood-ear fungus", "黄花菜 干货"]  # best revenue first
    assert (by_title["Wood-ear fungus"].units, by_title["Wood-ear fungus"].revenue_fen) == (7, 7000)
    assert (by_title["黄花菜 干货"].orders, by_title["黄花菜 干货"].revenue_fen) == (2, 6500)
    assert sales.sales_report(shop.coop.id, 90).total.orders == 5
    html = main_html(shop.client.get("/my/sales?days=30"))
    assert "¥135.00" in html and "<svg" in html and "<desc" in html and "Revenue per day" in html
    assert "黄花菜 干货" in html and "¥65.00" in html
    assert shop.client.get("/my/sales", headers={"Accept-Language": "zh-CN"}).status_code == 200


def test_days_are_beijing_dates(shop):
    early, late = buy(shop.buyer, [(shop.muer, 1)]), buy(shop.buyer, [(shop.muer, 2)])
    today = sales.local_today()
    midnight = sales.local_midnight(today)  # 16:00 UTC the day before
    early.paid_at, late.paid_at = midnight - timedelta(minutes=30), midnight + timedelta(minutes=30)
    db.session.commit()
    report = sales.sales_report(shop.coop.id, 7, now=midnight + timedelta(hours=12))
    assert (report.per_day[-2].units, report.per_day[-1].units) == (1, 2)


def test_dashboard_query_count_does_not_grow_with_the_period(make, shop, count_queries):
    for days_ago in (0, 5, 20, 60):
        shift(buy(shop.buyer, [(shop.muer, 1), (shop.huanghua, 1)]), days=days_ago)
    coop_id, counts = shop.coop.id, []
    for days in (7, 30, 90):
        with count_queries() as q:
            assert shop.client.get(f"/my/sales?days={days}").status_code == 200
        counts.append(q.count)
        with count_queries() as q:
            sales.sales_report(coop_id, days)
        assert [s.split()[0] for s in q.statements if not s.startswith("BEGIN")] == ["SELECT", "SELECT"]
    assert len(set(counts)) == 1, counts


def test_dashboard_with_no_sales_and_an_odd_period(shop):
    response = shop.client.get("/my/sales?days=365")
    assert response.status_code == 200
    assert "No sales in this period yet." in main_html(response)

