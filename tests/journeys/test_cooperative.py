"""The cooperative's journey: apply, get verified, list a product with a photo, schedule
and host a live show, ship one order, refund another, record a payout to a household.

Two phones: the cooperative's owner and a programme staff member (who verifies the
application). The buyers' two orders are placed and paid through the services, as the
buyer's own journey (test_buyer.py) walks those pages already.
"""
import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from marketplace.catalog.models import Product, ProductImage
from marketplace.coops.models import Cooperative, CoopStatus
from marketplace.core.db import utcnow
from marketplace.extensions import db
from marketplace.households.models import Payout
from marketplace.livestream.forms import SHOW_ZONE
from marketplace.orders.models import Order, OrderStatus
from tests.conftest import Factory, jpeg_bytes
from tests.households.test_ledger import approved_link, household, paid_order

pytestmark = pytest.mark.browser

COOP = "金米村木耳合作社 Jinmi Wood-ear Co-op"
PRODUCT = "金米村黑木耳 Jinmi black wood-ear"
SHOW = "金米村木耳直播 Jinmi wood-ear, live"
STREAM = "https://streams.example.org/jinmi/live.m3u8"  # requests to it are aborted (journey.phone)


@pytest.fixture
def people(live_server):
    with live_server.app_context():
        make = Factory()
        return {"owner": make.user(name="Zhang Min").email, "staff": make.staff().email}


def china_time(dt) -> str:
    return dt.astimezone(SHOW_ZONE).strftime("%Y-%m-%dT%H:%M")


def apply(journey, owner, tmp_path):
    t = journey.t
    owner.get_by_role("link", name=t("Sell with us: apply as a cooperative")).click()
    expect(owner.get_by_role("heading", level=1)).to_have_text(t("Apply as a cooperative"))
    form = owner.locator("main form")
    for label, value in (("Cooperative name", COOP), ("County", "柞水县 Zhashui"), ("Village", "金米村 Jinmi"),
                         ("Registration number", "93610426MA6YX1234K"), ("Contact person", "张敏 Zhang Min"),
                         ("Contact phone", "13900000000"),
                         ("Your story", "Forty families grow wood-ear on oak logs; the autumn crop did not sell.")):
        form.get_by_label(t(label), exact=True).fill(value)
    form.get_by_label(t("Province"), exact=True).select_option("Shaanxi")
    logo = tmp_path / "logo.png"
    logo.write_bytes(jpeg_bytes((200, 200), fmt="PNG"))
    form.get_by_label(t("Logo (JPEG, PNG or WebP)")).set_input_files(str(logo))
    journey.step(owner, "apply-form")
    form.get_by_role("button", name=t("Send application")).click()
    expect(journey.flash(owner)).to_contain_text(t("Thank you! Programme staff will review your application."))
    expect(owner.locator("main .status")).to_contain_text(t("pending"))
    journey.step(owner, "applied-pending")


def verify(journey, staff, email):
    t = journey.t
    journey.log_in(staff, email)
    staff.get_by_role("navigation", name=t("Main")).get_by_role("link", name=t("Staff")).click()
    application = staff.locator("main article", has=staff.get_by_role("heading", name=COOP))
    expect(application).to_contain_text("93610426MA6YX1234K")
    journey.step(staff, "staff-reviews-application")
    application.get_by_role("button", name=t("Verify")).click()
    expect(journey.flash(staff)).to_contain_text(t("%(name)s is now %(status)s.", name=COOP, status=t("verified")))


def add_product(journey, owner, tmp_path):
    t = journey.t
    owner.get_by_role("link", name=t("Add a product")).click()
    form = owner.locator("main form")
    for label, value in (("Title", PRODUCT), ("Description", "Sun-dried on racks, soaked it grows tenfold."),
                         ("Origin", "柞水县 Zhashui"), ("Unit (e.g. 500 g bag)", "250 g"),
                         ("Price in yuan", "30.00"), ("Stock (units)", "40")):
        form.get_by_label(t(label), exact=True).fill(value)
    form.get_by_label(t("Category"), exact=True).select_option("fungi")
    form.get_by_label(t("Status"), exact=True).select_option("active")
    photo = tmp_path / "wood-ear.jpg"
    photo.write_bytes(jpeg_bytes((1024, 768), color=(40, 30, 20)))
    form.get_by_label(t("Add a photo (JPEG, PNG or WebP)")).set_input_files(str(photo))
    journey.step(owner, "product-form")
    form.get_by_role("button", name=t("Save")).click()
    expect(journey.flash(owner)).to_contain_text(t("Product saved."))
    expect(owner.locator("main .thumbs img")).to_have_count(1)
    journey.step(owner, "product-saved-with-photo")
    owner.get_by_role("link", name=t("See the product page")).click()
    expect(owner.get_by_role("heading", level=1)).to_have_text(PRODUCT)
    expect(owner.locator("main img").first).to_have_attribute("src", re.compile(r"^/media/"))
    journey.step(owner, "product-on-sale")


def host_show(journey, owner, product_id):
    t = journey.t
    start = (utcnow() + timedelta(minutes=30)).replace(second=0, microsecond=0)
    owner.get_by_role("link", name=t("My cooperative")).click()
    owner.locator("main").get_by_role("link", name=t("Live shows")).click()
    owner.get_by_role("link", name=t("Schedule a show")).click()
    owner.get_by_label(t("Title"), exact=True).fill(SHOW)
    owner.get_by_label(t("Description")).fill("The drying racks of Jinmi village.")
    owner.get_by_label(t("Starts (China time)")).fill(china_time(start))
    owner.get_by_label(t("Ends (China time)")).fill(china_time(start + timedelta(hours=1)))
    owner.get_by_label(t("Stream address (.m3u8) or the player address of another platform")).fill(STREAM)
    row = owner.locator(".lineup-row").first
    row.get_by_label(t("Product"), exact=True).select_option(str(product_id))
    row.get_by_label(t("Live price in yuan")).fill("26.00")
    row.get_by_label(t("Live quota (units)")).fill("10")
    journey.step(owner, "show-form")
    owner.get_by_role("button", name=t("Schedule the show")).click()
    expect(journey.flash(owner)).to_contain_text(t("The show is scheduled."))
    journey.step(owner, "show-scheduled")
    # Going live and ending are checked on the console's controls and badge, not on the flash:
    # the console reloads itself when the room's event stream reports the new status, and
    # that reload may come after the redirect that showed the flash.
    owner.get_by_role("button", name=t("Go live")).click()
    expect(owner.locator(".live-console .show-badge")).to_have_class(re.compile(r"\bbadge-live\b"))
    lineup = owner.locator(".console-lineup li", has_text=PRODUCT)
    lineup.get_by_role("button", name=t("Pin")).click()
    expect(lineup.get_by_role("button", name=t("Unpin"))).to_be_visible()
    journey.step(owner, "show-live-pinned")
    owner.get_by_role("button", name=t("End the show")).click()
    expect(owner.locator(".live-console .show-badge")).to_have_class(re.compile(r"\bbadge-ended\b"))
    owner.get_by_role("link", name=t("Report")).click()
    expect(owner.get_by_role("heading", level=1)).to_have_text(t("Report: %(title)s", title=SHOW))
    journey.step(owner, "show-report")


def open_order(journey, owner, order_id):
    t = journey.t
    owner.get_by_role("link", name=t("My cooperative")).click()
    owner.get_by_role("link", name=t("Order desk")).click()
    owner.get_by_role("link", name=f"#{order_id}", exact=True).click()
    expect(owner.get_by_role("heading", level=1)).to_have_text(t("Order %(id)d", id=order_id))


def ship_and_refund(journey, owner, first, second):
    t = journey.t
    open_order(journey, owner, first)
    owner.get_by_label(t("Carrier")).fill("顺丰 SF Express")
    owner.get_by_label(t("Tracking number")).fill("SF1402938475")
    journey.step(owner, "ship-form")
    owner.get_by_role("button", name=t("Mark as shipped")).click()
    expect(journey.flash(owner)).to_contain_text(t("Shipped. The buyer has been told the tracking number."))
    expect(owner.locator("main .status").first).to_have_text(t("shipped"))
    journey.step(owner, "shipped")

    open_order(journey, owner, second)
    by_product = owner.locator("form", has=owner.get_by_role("button", name=t("Refund these goods")))
    by_product.get_by_label(t("%(title)s (up to %(n)d)", title=PRODUCT, n=2)).fill("1")
    by_product.get_by_label(t("Reason (the buyer sees it)")).fill("One bag was crushed in the store")
    by_product.get_by_role("button", name=t("Refund these goods")).click()
    expect(journey.flash(owner)).to_contain_text(t("Refunded. The money goes back to the buyer's account."))
    journey.step(owner, "refunded-one-bag")


def pay_out(journey, owner, head, tmp_path):
    t = journey.t
    owner.get_by_role("link", name=t("My cooperative")).click()
    owner.get_by_role("link", name=t("Our households")).click()
    journey.step(owner, "households")
    owner.get_by_role("link", name=head).click()
    expect(owner.locator(".hh-owed")).to_have_text("¥9.00")  # 10 % of 2 x ¥60.00, less the refunded ¥30.00
    form = owner.locator("form", has=owner.get_by_role("button", name=t("Record payout")))
    form.get_by_label(t("Amount paid in yuan")).fill("5.00")
    form.get_by_label(t("How it was paid")).select_option("cash")
    form.get_by_label(t("Reference number (optional)")).fill("R-2026-014")
    receipt = tmp_path / "receipt.jpg"
    receipt.write_bytes(jpeg_bytes((640, 480)))
    form.get_by_label(t("Photo of the receipt (optional)")).set_input_files(str(receipt))
    journey.step(owner, "payout-form")
    form.get_by_role("button", name=t("Record payout")).click()
    expect(journey.flash(owner)).to_contain_text(t("Payout recorded."))
    expect(owner.locator(".hh-owed")).to_have_text("¥4.00")
    expect(owner.locator("table.hh-payouts tbody tr")).to_contain_text("R-2026-014")
    journey.step(owner, "payout-recorded")


def test_cooperative_applies_sells_hosts_ships_refunds_and_pays_out(journey, people, live_server, tmp_path):
    t = journey.t
    owner, staff = journey.phone(), journey.phone()
    journey.log_in(owner, people["owner"], step="owner-login")
    apply(journey, owner, tmp_path)
    verify(journey, staff, people["staff"])
    owner.reload()
    expect(owner.locator("main .status")).to_contain_text(t("verified"))
    journey.step(owner, "verified")

    add_product(journey, owner, tmp_path)
    with live_server.app_context():
        coop = db.session.scalar(db.select(Cooperative).where(Cooperative.name == COOP))
        assert coop.status == CoopStatus.verified and coop.logo_key
        product = db.session.scalar(db.select(Product).where(Product.cooperative_id == coop.id))
        assert db.session.scalar(db.select(db.func.count(ProductImage.id))
                                 .where(ProductImage.product_id == product.id)) == 1
        # a household linked for 10 % of each sale, then two buyers pay for two bags each
        make = Factory()
        make.n = 100
        linked = household(make.staff(), 7)
        db.session.commit()
        approved_link(make, coop, linked.id, share_bp=1000)
        first, second = (paid_order(make, product, 2).id for _ in range(2))
        product_id, head = product.id, linked.head_name

    host_show(journey, owner, product_id)
    ship_and_refund(journey, owner, first, second)
    pay_out(journey, owner, head, tmp_path)

    with live_server.app_context():
        assert db.session.get(Order, first).status == OrderStatus.shipped
        assert db.session.get(Order, second).status == OrderStatus.partially_refunded
        assert db.session.scalar(db.select(Payout.amount_fen)) == 500
