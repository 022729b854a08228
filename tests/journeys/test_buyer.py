"""The buyer's journey: search, cart, pay, order status, impact receipt.

A cooperative sells wood-ear fungus (with a photo) and returns 10 % of each sale to an
enrolled household. The buyer opens the shop on a phone, searches 木耳, puts two bags in
the cart, checks out, pays on the demo gateway (TEST MODE), follows the order from paid
to shipped and reads on the order how much went to the household, then the impact page.
"""
import pytest
from playwright.sync_api import expect

from marketplace.catalog.services import add_image
from marketplace.extensions import db
from marketplace.orders.fulfilment import ship
from marketplace.orders.models import Order, OrderStatus
from tests.conftest import Factory, jpeg_bytes, owner_of
from tests.households.test_ledger import approved_link, household

pytestmark = pytest.mark.browser

PRODUCT = "秦岭黑木耳 Qinling black wood-ear"
ADDRESS = {"Recipient": "李伟 Li Wei", "Phone": "13800138000", "Province": "北京", "City": "北京",
           "Street address": "朝阳路 12 号 3 号楼"}


@pytest.fixture
def shop(live_server):
    """A verified cooperative, its wood-ear at ¥39.80 with a photo, a household linked
    for 10 % of each sale, and a buyer."""
    with live_server.app_context():
        make = Factory()
        coop = make.coop(name="柞水木耳合作社 Zhashui Wood-ear Co-op")
        product = make.product(coop, title=PRODUCT, price_fen=3980, stock=20, category="fungi",
                               description="Grown on oak logs in Jinmi village.")
        add_image(owner_of(coop), product, jpeg_bytes((800, 600)), alt="Dried black wood-ear in a bowl")
        linked = household(make.staff(), 3)
        db.session.commit()
        approved_link(make, coop, linked.id, share_bp=1000)
        return {"buyer": make.user(name="Li Wei").email, "owner_id": owner_of(coop).id}


def test_buyer_searches_pays_follows_the_order_and_reads_its_impact(journey, shop, live_server):
    t, buyer = journey.t, journey.phone()
    buyer.goto(journey.url + "/")
    expect(buyer.get_by_role("heading", level=1)).to_be_visible()
    journey.step(buyer, "home")
    # the language control in the header: to the other language and back
    other = "en" if journey.locale == "zh-CN" else "zh-CN"
    buyer.get_by_role("button", name=journey.LANGUAGE_BUTTONS[other]).click()
    expect(buyer.locator("html")).to_have_attribute("lang", other)
    main_menu = buyer.get_by_role("navigation").locator("a").first
    expect(main_menu).to_have_text(journey.t_in(other, "All goods"))
    expect(buyer.get_by_role("button", name=journey.LANGUAGE_BUTTONS[journey.locale])).to_be_visible()
    buyer.get_by_role("button", name=journey.LANGUAGE_BUTTONS[journey.locale]).click()
    expect(buyer.locator("html")).to_have_attribute("lang", journey.locale)
    expect(main_menu).to_have_text(t("All goods"))
    journey.log_in(buyer, shop["buyer"], step="login")

    # search from the header's search box
    buyer.get_by_role("searchbox", name=t("Search goods")).fill("木耳")
    buyer.get_by_role("search").get_by_role("button", name=t("Search")).click()
    expect(buyer.get_by_role("heading", level=1)).to_have_text(t("Results for “%(q)s”", q="木耳"))
    expect(buyer.locator("main .card")).to_have_count(1)
    journey.step(buyer, "search-results")

    buyer.locator("main").get_by_role("link", name=PRODUCT).click()
    expect(buyer.get_by_role("heading", level=1)).to_have_text(PRODUCT)
    expect(buyer.get_by_role("img", name="Dried black wood-ear in a bowl").first).to_be_visible()
    journey.step(buyer, "product")

    # two bags into the cart
    buyer.locator(".buybox").get_by_label(t("Quantity")).fill("2")
    buyer.get_by_role("button", name=t("Add to cart")).click()
    expect(journey.flash(buyer)).to_contain_text(t("“%(title)s” is in your cart.", title=PRODUCT))
    expect(buyer.locator("main .total")).to_contain_text("¥79.60")
    journey.step(buyer, "cart")

    # check out and pay on the demo gateway
    buyer.locator("main").get_by_role("link", name=t("Check out")).click()
    for label, value in ADDRESS.items():
        buyer.get_by_label(t(label), exact=True).fill(value)
    journey.step(buyer, "checkout")
    buyer.get_by_role("button", name=t("Place order and pay")).click()
    expect(buyer.get_by_role("heading", level=1)).to_have_text(t("Pay %(amount)s", amount="¥79.60"))
    journey.step(buyer, "pay-test-mode")
    buyer.get_by_role("button", name=t("Pay %(amount)s (test)", amount="¥79.60")).click()
    expect(buyer.get_by_role("heading", level=1)).to_have_text(t("Thank you! Your payment arrived."))
    journey.step(buyer, "paid")

    # order status: paid, then shipped by the cooperative
    with live_server.app_context():
        order_id = db.session.scalar(db.select(Order.id))
    buyer.get_by_role("link", name=t("All my orders")).click()
    expect(buyer.get_by_role("heading", level=1)).to_have_text(t("My orders"))
    row = buyer.locator("main li.panel", has=buyer.get_by_role("link", name=t("Order %(id)d", id=order_id)))
    expect(row.locator(".status")).to_have_text(t("paid"))
    journey.step(buyer, "orders-paid")
    with live_server.app_context():
        order = db.session.get(Order, order_id)
        ship(order.cooperative.memberships[0].user, order, {"carrier": "SF Express", "tracking_no": "SF1402938475"})
        db.session.commit()
    buyer.reload()
    expect(row.locator(".status")).to_have_text(t("shipped"))
    journey.step(buyer, "orders-shipped")

    # the order's impact receipt: 10 % of ¥79.60 went to the household
    row.get_by_role("link", name=t("Order %(id)d", id=order_id)).click()
    expect(buyer.get_by_role("heading", level=1)).to_have_text(t("Order %(id)d", id=order_id))
    expect(buyer.locator("main")).to_contain_text(f"{t('Parcel:')} SF Express SF1402938475")
    expect(buyer.locator(".hh-returned")).to_contain_text(
        t("%(amount)s of this order went to enrolled rural households.", amount="¥7.96"))
    journey.step(buyer, "order-impact-receipt")
    buyer.locator(".hh-returned").get_by_role("link", name=t("See the impact")).click()
    expect(buyer.get_by_role("heading", level=1)).to_be_visible()
    expect(buyer.locator("main")).to_contain_text("¥7.96")
    journey.step(buyer, "impact")

    with live_server.app_context():
        assert db.session.get(Order, order_id).status == OrderStatus.shipped
