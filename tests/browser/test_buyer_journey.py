"""The whole buying journey in Chromium on a phone, CSRF on, demo payments (TEST MODE):
a buyer fills one cart from two cooperatives, pays once and sees two orders; then each
cooperative works its own order at its order desk (in its own browser), A ships it and
B refunds it, and the buyer sees one parcel on its way with the tracking number and
one order refunded."""
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from marketplace.catalog.models import Product
from marketplace.extensions import db
from marketplace.orders.models import Order, OrderStatus
from tests.conftest import PASSWORD, Factory, owner_of

pytestmark = pytest.mark.browser

ADDRESS = {"Recipient": "Li Wei", "Phone": "13800138000", "Province": "Beijing", "City": "Beijing",
           "Street address": "12 Chaoyang Road, Building 3"}


@pytest.fixture
def shop(live_server):
    """Two verified cooperatives with one product each, their owners, and a buyer."""
    with live_server.app_context():
        make = Factory()
        coop_a = make.coop(name="Qinling Wood-ear Co-op")
        coop_b = make.coop(name="Datong Day Lily Co-op", province="Shanxi")
        fungus = make.product(coop_a, title="秦岭黑木耳 Qinling black wood-ear", price_fen=3980, stock=20)
        lily = make.product(coop_b, title="大同黄花菜 Datong day lily", category="dried_vegetables",
                            price_fen=4580, stock=10)
        buyer = make.user(name="Li Wei")
        return {"buyer": buyer.email, "a": owner_of(coop_a).email, "b": owner_of(coop_b).email,
                "fungus": fungus.id, "lily": lily.id}


@pytest.fixture
def member_page(browser, browser_context_args, request):
    """A page in a browser context of its own (another person on another phone), and
    a screenshot helper that files its shots beside shot()'s."""
    contexts = []
    folder = Path(request.config.rootpath) / "test-artifacts" / "screenshots"
    test_name = re.sub(r"[^\w.-]+", "_", request.node.originalname)

    def open_page():
        context = browser.new_context(**browser_context_args)
        contexts.append(context)
        page = context.new_page()
        page.shot = lambda step: page.screenshot(path=str(folder / f"{test_name}-{step}.png"), full_page=True)
        return page

    yield open_page
    for context in contexts:
        context.close()


def log_in(page, live_url, email):
    page.goto(live_url + "/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.locator("main").get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def add_to_cart(page, title, quantity):
    page.get_by_role("navigation", name="Main").get_by_role("link", name="All goods").click()
    page.locator("main").get_by_role("link", name=title).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    page.locator(".buybox").get_by_label("Quantity").fill(str(quantity))
    page.get_by_role("button", name="Add to cart").click()
    expect(page.get_by_role("status")).to_contain_text(f"“{title}” is in your cart.")


def open_desk_order(page, live_url, email, order_id):
    log_in(page, live_url, email)
    page.get_by_role("link", name="My cooperative").click()
    page.get_by_role("link", name="Order desk").click()
    page.get_by_role("link", name=f"#{order_id}", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Order {order_id}")


def order_row(page, order_id):
    return page.locator("main li.panel", has=page.get_by_role("link", name=f"Order {order_id}", exact=True))


def test_buyer_pays_one_cart_from_two_cooperatives_then_one_ships_and_one_refunds(
        page, live_server, live_url, shot, shop, member_page):
    # --- the buyer fills one cart from two cooperatives --------------------------
    log_in(page, live_url, shop["buyer"])
    add_to_cart(page, "秦岭黑木耳 Qinling black wood-ear", 2)
    add_to_cart(page, "大同黄花菜 Datong day lily", 1)
    cart = page.locator("main")
    expect(cart.locator(".cart-row")).to_have_count(2)
    expect(cart.locator(".cart-row").filter(has_text="Qinling Wood-ear Co-op")).to_contain_text("¥79.60")
    expect(cart.locator(".cart-row").filter(has_text="Datong Day Lily Co-op")).to_contain_text("¥45.80")
    expect(cart.locator(".total")).to_contain_text("¥125.40")
    shot("cart")

    # --- one checkout, one payment (the demo gateway's TEST MODE page) -------------
    cart.get_by_role("link", name="Check out").click()
    for label, value in ADDRESS.items():
        page.get_by_label(label, exact=True).fill(value)
    shot("checkout")
    page.get_by_role("button", name="Place order and pay").click()
    expect(page).to_have_url(re.compile(r"/checkouts/\d+/pay$"))
    expect(page.get_by_role("heading", name="TEST MODE")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_have_text("Pay ¥125.40")
    shot("pay-test-mode")
    page.get_by_role("button", name="Pay ¥125.40 (test)").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you! Your payment arrived.")
    expect(page.locator("main ul.orders > li")).to_have_count(2)
    expect(page.locator("main ul.orders > li").filter(has_text="paid")).to_have_count(2)
    shot("paid")

    with live_server.app_context():
        orders = {o.cooperative.name: o.id for o in db.session.scalars(db.select(Order))}
    order_a, order_b = orders["Qinling Wood-ear Co-op"], orders["Datong Day Lily Co-op"]

    page.get_by_role("link", name="All my orders").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My orders")
    expect(order_row(page, order_a)).to_contain_text("¥79.60")
    expect(order_row(page, order_a).locator(".status")).to_have_text("paid")
    expect(order_row(page, order_b)).to_contain_text("¥45.80")
    expect(order_row(page, order_b).locator(".status")).to_have_text("paid")
    shot("my-orders-paid")

    # --- cooperative A ships its part, from its order desk ---------------------------
    a = member_page()
    open_desk_order(a, live_url, shop["a"], order_a)
    expect(a.locator("main")).to_contain_text("秦岭黑木耳 Qinling black wood-ear")
    expect(a.locator("main")).not_to_contain_text("Datong day lily")  # B's goods are not A's business
    a.get_by_label("Carrier").fill("SF Express")
    a.get_by_label("Tracking number").fill("SF1402938475")
    a.get_by_role("button", name="Mark as shipped").click()
    expect(a.get_by_role("status")).to_contain_text("Shipped. The buyer has been told the tracking number.")
    expect(a.locator("main .status").first).to_have_text("shipped")
    a.shot("coop-a-shipped")

    # --- cooperative B refunds its part (not shipped: the lilies go back on sale) ------
    b = member_page()
    open_desk_order(b, live_url, shop["b"], order_b)
    by_product = b.locator("form", has=b.get_by_role("button", name="Refund these goods"))
    by_product.get_by_label("大同黄花菜 Datong day lily (up to 1)").fill("1")
    by_product.get_by_label("Reason (the buyer sees it)").fill("Sorry, this batch got damp in the store")
    b.shot("coop-b-refund-form")
    by_product.get_by_role("button", name="Refund these goods").click()
    expect(b.get_by_role("status")).to_contain_text("Refunded. The money goes back to the buyer's account.")
    expect(b.locator("main .status").first).to_have_text("refunded")
    b.shot("coop-b-refunded")

    # --- the buyer sees one parcel on its way and one refund ---------------------------
    page.reload()
    expect(order_row(page, order_a).locator(".status")).to_have_text("shipped")
    expect(order_row(page, order_a).locator(".parcel")).to_have_text("Parcel: SF Express SF1402938475")
    expect(order_row(page, order_b).locator(".status")).to_have_text("refunded")
    expect(order_row(page, order_b).locator(".parcel")).to_have_count(0)
    shot("my-orders-shipped-and-refunded")

    order_row(page, order_a).get_by_role("link", name=f"Order {order_a}").click()
    expect(page.locator("main")).to_contain_text("Parcel: SF Express SF1402938475")
    expect(page.locator("main .timeline")).to_contain_text("shipped")
    expect(page.get_by_role("button", name="I received it")).to_be_visible()
    shot("order-a-shipped")

    page.go_back()
    order_row(page, order_b).get_by_role("link", name=f"Order {order_b}").click()
    expect(page.locator("main tfoot")).to_contain_text("¥45.80")  # refunded in full
    expect(page.locator("main .timeline")).to_contain_text("Sorry, this batch got damp in the store")
    expect(page.get_by_role("button", name="Cancel order")).to_have_count(0)
    shot("order-b-refunded")

    with live_server.app_context():
        statuses = {o.id: o.status for o in db.session.scalars(db.select(Order))}
        assert statuses == {order_a: OrderStatus.shipped, order_b: OrderStatus.refunded}
        assert db.session.get(Product, shop["fungus"]).stock == 18  # sold and shipped
        assert db.session.get(Product, shop["lily"]).stock == 10  # refunded before shipping: back on sale
