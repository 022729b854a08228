"""The live-show journey in Chromium, with two people in two browser contexts:
a cooperative's host schedules a show through the console (a lineup product at a
live price, with a quota and a per-buyer limit); a viewer finds it, asks to be
reminded and downloads its calendar file; the host goes live and pins the
product; the viewer's open page shows the pin without reloading (Server-Sent
Events); the viewer, who has no saved address yet, buys at the live price, gives
an address on the way, and pays (demo gateway) while the host's console counts the
sale live; the show's report shows the sale, down to the household it paid; the
viewer's room says the show ended without reloading."""
import re
from datetime import timedelta
from pathlib import Path

import pytest
from icalendar import Calendar
from playwright.sync_api import expect

from marketplace.coops.services import invite_member
from marketplace.core.db import utcnow
from marketplace.extensions import db
from marketplace.livestream.forms import SHOW_ZONE
from marketplace.livestream.models import Reminder, Show, ShowStatus
from marketplace.orders.models import Address, OrderLine
from tests.browser.test_storefront import log_in
from tests.conftest import Factory, owner_of
from tests.households.test_ledger import approved_link, household

pytestmark = pytest.mark.browser
STREAM = "https://streams.example.org/qinling/live.m3u8"  # not reachable from the tests: requests are aborted
TITLE = "秦岭木耳晾晒直播 Wood-ear drying racks, live"


class World:
    pass


def setup_world(live_server) -> World:
    """A verified cooperative with a product, a member with the host role, a buyer
    without a saved address, and a household that gets 10% of each paid sale."""
    w = World()
    with live_server.app_context():
        make = Factory()
        coop = make.coop(name="柞水木耳合作社 Zhashui Wood-ear Co-op")
        owner = owner_of(coop)
        host, buyer = make.user(name="Host Li"), make.user(name="Buyer Wang")
        invite_member(owner, coop, host.email, "host")
        product = make.product(coop, title="秦岭黑木耳 Black wood-ear", price_fen=3980, stock=50)
        linked = household(make.staff(), 7)
        db.session.commit()
        approved_link(make, coop, linked.id, share_bp=1000)
        w.host_email, w.buyer_email, w.buyer_id = host.email, buyer.email, buyer.id
        w.product_id, w.household_file_no = product.id, linked.file_no
    return w


def china_time(dt) -> str:
    """What a host types into a datetime-local box: the wall clock in China."""
    return dt.astimezone(SHOW_ZONE).strftime("%Y-%m-%dT%H:%M")


@pytest.fixture
def viewer(browser, browser_context_args, request):
    """The viewer's own browser context (own cookies), and a screenshot helper for it."""
    context = browser.new_context(**browser_context_args)
    context.route("https://streams.example.org/**", lambda route: route.abort())
    page = context.new_page()
    folder = Path(request.config.rootpath) / "test-artifacts" / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    page.shot = lambda step: page.screenshot(path=str(folder / f"{request.node.originalname}-viewer-{step}.png"),
                                             full_page=True)
    yield page
    context.close()


def schedule_show(page, live_url, w, start, shot):
    page.get_by_role("link", name="My cooperative").click()
    page.locator("main").get_by_role("link", name="Live shows").click()
    expect(page).to_have_url(live_url + "/my/shows")
    page.get_by_role("link", name="Schedule a show").click()
    page.get_by_label("Title", exact=True).fill(TITLE)
    page.get_by_label("Description").fill("Jinmi village: the fungus drying on racks.")
    page.get_by_label("Starts (China time)").fill(china_time(start))
    page.get_by_label("Ends (China time)").fill(china_time(start + timedelta(hours=1)))
    page.get_by_label(re.compile(r"^Stream address")).fill(STREAM)
    row = page.locator(".lineup-row").first
    row.get_by_label("Product", exact=True).select_option(str(w.product_id))
    row.get_by_label("Live price in yuan").fill("29.90")
    row.get_by_label("Live quota (units)").fill("20")
    row.get_by_label("Limit per buyer (optional)").fill("2")
    shot("1-schedule-form")
    page.get_by_role("button", name="Schedule the show").click()
    expect(page.get_by_role("status")).to_contain_text("The show is scheduled.")
    expect(page.locator(".console-lineup")).to_contain_text("sold 0 of 20")
    shot("2-console-scheduled")


def subscribe_and_download_ics(viewer, live_url, start, tmp_path):
    viewer.goto(live_url + "/shows")
    upcoming = viewer.locator("section", has=viewer.get_by_role("heading", name="Upcoming"))
    upcoming.get_by_role("link", name=re.compile("Wood-ear drying racks")).click()
    expect(viewer.get_by_role("heading", level=1)).to_have_text(TITLE)
    expect(viewer.locator("[data-countdown]")).to_have_text(re.compile(r"^Starts in 00:(0\d|10):\d\d$"))
    viewer.get_by_role("button", name="Remind me").click()
    expect(viewer.get_by_text("You will get a reminder by mail.")).to_be_visible()
    with viewer.expect_download() as download:
        viewer.get_by_role("link", name="Add to calendar (.ics)").click()
    path = tmp_path / "show.ics"
    download.value.save_as(path)
    event = next(iter(Calendar.from_ical(path.read_bytes()).walk("VEVENT")))
    assert str(event["summary"]) == TITLE
    assert event.decoded("dtstart") == start and event.decoded("dtend") == start + timedelta(hours=1)
    viewer.shot("1-reminded")


def buy_with_a_new_address(viewer):
    pinned = viewer.locator("#pinned")
    pinned.get_by_label("Quantity").fill("2")
    pinned.get_by_role("button", name="Buy at the live price").click()
    expect(viewer.get_by_role("heading", level=1)).to_have_text("Where should we ship it?")
    expect(viewer.locator(".live-buy-summary")).to_contain_text("¥29.90")
    viewer.shot("4-address")
    viewer.get_by_label("Recipient").fill("王芳 Wang Fang")
    viewer.get_by_label("Phone").fill("13800000000")
    viewer.get_by_label("Province").fill("北京")
    viewer.get_by_label("City").fill("北京")
    viewer.get_by_label("Street address").fill("朝阳区建国路 1 号")
    viewer.get_by_role("button", name="Place order and pay").click()
    expect(viewer.get_by_role("heading", level=1)).to_have_text("Pay ¥59.80")  # 2 x ¥29.90, not 2 x ¥39.80
    viewer.shot("5-pay")
    viewer.get_by_role("button", name="Pay ¥59.80 (test)").click()
    expect(viewer.get_by_role("heading", level=1)).to_have_text("Thank you! Your payment arrived.")
    viewer.shot("6-paid")


def test_live_show_from_schedule_to_report(page, viewer, live_server, live_url, shot, tmp_path):
    w = setup_world(live_server)
    start = (utcnow() + timedelta(minutes=11)).replace(second=0, microsecond=0)

    log_in(page, live_url, w.host_email)
    schedule_show(page, live_url, w, start, shot)
    console_url = page.url

    log_in(viewer, live_url, w.buyer_email)
    subscribe_and_download_ics(viewer, live_url, start, tmp_path)
    with live_server.app_context():
        assert db.session.query(Reminder).filter_by(user_id=w.buyer_id).count() == 1

    page.get_by_role("button", name="Go live").click()
    expect(page.get_by_role("status")).to_contain_text("The show is live.")
    # the viewer's page learns it by its event stream and reloads into the live room
    expect(viewer.locator("#live-status")).to_have_text("Live now", timeout=15_000)
    expect(viewer.locator("#live-video")).to_have_attribute("data-src", STREAM)
    expect(viewer.locator("#pinned")).to_be_hidden()  # nothing pinned when the room was loaded
    viewer.evaluate("window.__sameDocument = true")
    room_url = viewer.url
    viewer.shot("2-live")

    page.locator(".console-lineup li", has_text="Black wood-ear").get_by_role("button", name="Pin").click()
    expect(page.get_by_role("status")).to_contain_text("Pinned.")
    shot("3-console-pinned")
    pinned = viewer.locator("#pinned")
    expect(pinned).to_be_visible(timeout=15_000)
    expect(pinned.locator("#pin-title")).to_have_text("秦岭黑木耳 Black wood-ear")
    expect(pinned.locator("#pin-live-price")).to_have_text("¥29.90")
    expect(pinned.locator("#pin-price")).to_have_text("¥39.80")
    expect(pinned.locator("#pin-remaining")).to_have_text("20 left at the live price")
    assert viewer.evaluate("window.__sameDocument") is True  # shown without reloading
    viewer.shot("3-pinned")

    page.evaluate("window.__consoleSameDocument = true")
    buy_with_a_new_address(viewer)
    # the host's open console counts the sale from the room's stock event, without reloading
    expect(page.locator(".js-sold")).to_have_text("sold 2 of 20", timeout=15_000)
    assert page.evaluate("window.__consoleSameDocument") is True
    with live_server.app_context():
        line = db.session.query(OrderLine).one()
        assert (line.product_id, line.quantity, line.unit_price_fen) == (w.product_id, 2, 2990)
        assert db.session.query(Address).filter_by(user_id=w.buyer_id).count() == 1  # kept for next time

    viewer.goto(room_url)
    expect(viewer.locator("#pin-remaining")).to_have_text("18 left at the live price")
    viewer.evaluate("window.__sameDocument = true")

    page.goto(console_url)
    expect(page.locator("#orders-body")).to_contain_text("Buyer Wang")
    expect(page.locator(".console-lineup")).to_contain_text("18 left at the live price")
    page.get_by_role("button", name="End the show").click()
    expect(page.get_by_role("status")).to_contain_text("The show has ended.")
    page.get_by_role("link", name="Report").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Report: {TITLE}")
    expect(page.locator("#r-orders")).to_have_text("1")
    expect(page.locator("#r-units")).to_have_text("2")
    expect(page.locator("#r-gmv")).to_have_text("¥59.80")
    expect(page.locator("#r-income")).to_have_text("¥5.98")  # the household's 10%
    expect(page.locator("#r-unique")).not_to_have_text("0")
    product_row = page.locator("tr", has_text="秦岭黑木耳 Black wood-ear")
    expect(product_row).to_contain_text("¥29.90")
    expect(product_row).to_contain_text("¥59.80")
    expect(page.locator("tr", has_text=w.household_file_no)).to_contain_text("¥5.98")
    shot("4-report")

    # the viewer back in the room: the end arrives by the event stream too, and the room
    # says so in place (a crowd reloading at once would hit the pages service together)
    expect(viewer.get_by_role("heading", name="This show has ended.")).to_be_visible(timeout=15_000)
    expect(viewer.locator("#live-status")).to_have_text("Ended")
    expect(viewer.locator("#pinned")).to_be_hidden()
    expect(viewer.get_by_role("button", name="Buy at the live price")).to_have_count(0)
    assert viewer.evaluate("window.__sameDocument") is True
    viewer.shot("7-ended")
    with live_server.app_context():
        assert db.session.query(Show).one().status == ShowStatus.ended
