"""Live-show pages: the list, the show page (countdown, reminders, calendar file), the
room (player, pinned card, buying, chat), the replay, and access control."""
import io
import re
from datetime import timedelta

import pytest
from icalendar import Calendar

from marketplace.coops.models import CoopStatus
from marketplace.coops.services import decide, invite_member
from marketplace.core.db import utcnow
from marketplace.extensions import db
from marketplace.catalog.models import Product
from marketplace.livestream import chat, services
from marketplace.livestream.forms import SHOW_ZONE
from marketplace.livestream.models import Pin, Reminder, Show, ShowStatus
from marketplace.orders.models import Address, Checkout, OrderLine
from tests.conftest import jpeg_bytes, main_html, owner_of

ADDRESS = {"name": "Wang Fang", "phone": "13800000000", "province": "Beijing", "city": "Beijing",
           "address": "1 Chang'an Avenue"}


def when(minutes):
    return utcnow() + timedelta(minutes=minutes)


def new_show(coop, minutes=10, length=60, items=None, host=None, title="Wood-ear harvest live",
             url="https://example.com/live/stream.m3u8"):
    show = services.schedule(host or owner_of(coop), coop, {
        "title": title, "stream_url": url, "starts_at": when(minutes), "ends_at": when(minutes + length),
        "description": "Drying racks in Jinmi village"}, items or [])
    db.session.commit()
    return show


@pytest.fixture
def world(make):
    """A cooperative with two products and a show in 10 minutes with both in its lineup."""
    class World:
        pass
    w = World()
    w.coop = make.coop()
    w.owner = owner_of(w.coop)
    w.product = make.product(w.coop, title="Black wood-ear", price_fen=3980, stock=50)
    w.other = make.product(w.coop, title="Shiitake", price_fen=2000, stock=30)
    w.show = new_show(w.coop, items=[
        {"product_id": w.product.id, "live_price_fen": 2990, "quota": 20, "per_buyer_limit": 2},
        {"product_id": w.other.id, "live_price_fen": 1500, "quota": 10}])
    w.buyer = make.user()
    return w


def go_live(w, pin=True):
    services.start(w.owner, w.show)
    if pin:
        services.pin(w.owner, w.show, w.product.id)
    db.session.commit()


# --- lists ------------------------------------------------------------------------------

def test_shows_page_lists_live_then_upcoming_then_replays(client, make, world):
    upcoming = new_show(world.coop, minutes=300, title="Honey harvest tomorrow")
    replay = new_show(world.coop, minutes=600, title="Last week's walnut show")
    services.start(world.owner, replay, now=replay.starts_at)
    services.end(world.owner, replay)
    go_live(world)
    hidden = make.coop(status="pending")
    new_show(hidden, title="Not verified yet")
    html = main_html(client.get("/shows"))
    positions = [html.index(t) for t in ("Wood-ear harvest live", "Honey harvest tomorrow", "Last week")]
    assert positions == sorted(positions)
    assert "Not verified yet" not in html
    assert f"/shows/{replay.id}/replay" in html


def test_home_page_shows_upcoming_and_live(client, world):
    html = main_html(client.get("/"))
    assert "Upcoming and live now" in html and "Wood-ear harvest live" in html
    assert "/shows" in client.get("/").get_data(as_text=True)  # the nav link


# --- the show page before the start --------------------------------------------------------

def test_show_page_has_countdown_times_in_china_time_and_calendar_link(client, make):
    coop = make.coop()
    start = (utcnow() + timedelta(days=1)).replace(hour=12, minute=0, second=0, microsecond=0)  # 20:00 in Shanghai
    show = services.schedule(owner_of(coop), coop, {"title": "Evening show", "stream_url": "https://example.com/a.m3u8",
                                                    "starts_at": start, "ends_at": start + timedelta(hours=1)}, [])
    db.session.commit()
    html = main_html(client.get(f"/shows/{show.id}"))
    assert f'data-countdown="{start.isoformat()}"' in html
    assert f'datetime="{start.isoformat()}"' in html and re.search(r"8:00\W*PM", html)
    assert f"/livestreams/{show.id}.ics" in html and "Log in to be reminded" in html
    assert "<video" not in html  # no player before the show


def test_remind_me_subscribes_once(client, login, world):
    response = client.post(f"/shows/{world.show.id}/remind")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    login(world.buyer)
    for _ in range(2):
        assert client.post(f"/shows/{world.show.id}/remind").status_code == 302
    assert db.session.query(Reminder).filter_by(show_id=world.show.id).count() == 1
    assert "You will get a reminder by mail." in main_html(client.get(f"/shows/{world.show.id}"))


def test_ics_download_is_a_valid_calendar(client, world):
    response = client.get(f"/livestreams/{world.show.id}.ics")
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    assert "attachment" in response.headers["Content-Disposition"]
    event = next(iter(Calendar.from_ical(response.data).walk("VEVENT")))
    assert str(event["summary"]) == "Wood-ear harvest live"
    show = world.show
    assert event.decoded("dtstart") == show.starts_at.replace(microsecond=0)  # iCalendar has whole seconds
    assert event.decoded("dtend") == show.ends_at.replace(microsecond=0)
    assert str(event["url"]).endswith(f"/shows/{world.show.id}")
    assert client.get("/livestreams/999.ics").status_code == 404


def test_send_reminders_cli(app, world):
    from marketplace.livestream.reminders import subscribe

    subscribe(world.buyer, world.show)
    db.session.commit()
    runner = app.test_cli_runner()
    assert "sent 1" in runner.invoke(args=["live", "send-reminders"]).output
    assert "sent 0" in runner.invoke(args=["live", "send-reminders"]).output
    mail = app.extensions["mail_outbox"][-1]
    assert mail["To"] == world.buyer.email and "Wood-ear harvest live" in mail["Subject"]


# --- the live room -----------------------------------------------------------------------

def test_live_room_has_player_pinned_card_and_media_csp(client, world):
    go_live(world)
    response = client.get(f"/shows/{world.show.id}")
    html = main_html(response)
    assert 'data-src="https://example.com/live/stream.m3u8"' in html
    pinned = html.split('id="pinned"', 1)[1].split("</section>", 1)[0]
    assert "Black wood-ear" in pinned and "¥29.90" in pinned and "¥39.80" in pinned and "20 left" in pinned
    csp = response.headers["Content-Security-Policy"]
    assert "media-src 'self' blob: https:" in csp and "script-src 'self'" in csp
    assert "media-src" not in client.get("/").headers["Content-Security-Policy"]
    assert f'data-events-url="/api/v1/livestreams/{world.show.id}/events"' in html


def test_embed_stream_is_a_sandboxed_iframe(client, make):
    coop = make.coop()
    show = new_show(coop, url="https://live.example.net/player?room=42")
    services.start(owner_of(coop), show)
    db.session.commit()
    html = main_html(client.get(f"/shows/{show.id}"))
    assert '<iframe class="player-media" src="https://live.example.net/player?room=42"' in html
    assert 'sandbox="allow-scripts allow-same-origin allow-presentation allow-popups"' in html


def test_hls_js_is_served_from_node_modules_with_a_long_cache(client, world):
    from marketplace.livestream.views import hls_version

    response = client.get("/vendor/hls.min.js")
    response.close()
    if hls_version() is None:
        assert response.status_code == 404  # npm ci was not run: the room falls back to native HLS
        return
    assert response.status_code == 200 and "max-age=31536000" in response.headers["Cache-Control"]
    assert response.mimetype == "text/javascript"
    go_live(world)
    assert f"/vendor/hls.min.js?v={hls_version()}" in client.get(f"/shows/{world.show.id}").get_data(as_text=True)


def test_chat_is_escaped_in_the_page(client, world):
    chat.post(world.buyer, world.show, "<script>alert(1)</script> 好吃吗？")
    db.session.commit()
    html = main_html(client.get(f"/shows/{world.show.id}"))
    assert "&lt;script&gt;alert(1)&lt;/script&gt; 好吃吗？" in html
    assert "<script>alert(1)" not in html


# --- buying in the room -----------------------------------------------------------------

def test_buy_at_the_live_price_with_the_saved_address(client, login, world):
    go_live(world)
    db.session.add(Address(user_id=world.buyer.id, **ADDRESS))
    db.session.commit()
    login(world.buyer)
    response = client.post(f"/shows/{world.show.id}/buy", data={"product_id": world.product.id, "quantity": 2})
    assert response.status_code == 302 and re.search(r"/checkouts/\d+/pay$", response.headers["Location"])
    line = db.session.query(OrderLine).one()
    assert (line.livestream_id, line.unit_price_fen, line.quantity) == (world.show.id, 2990, 2)
    beyond = client.post(f"/shows/{world.show.id}/buy", data={"product_id": world.product.id, "quantity": 1},
                         follow_redirects=True)
    assert "at most 2" in main_html(beyond) and db.session.query(Checkout).count() == 1


def test_buy_after_the_show_goes_to_the_product_at_the_regular_price(client, login, world):
    go_live(world)
    login(world.buyer)
    services.end(world.owner, db.session.get(Show, world.show.id))
    db.session.commit()
    response = client.post(f"/shows/{world.show.id}/buy", data={"product_id": world.product.id, "quantity": 1})
    assert response.headers["Location"].endswith(f"/products/{world.product.id}")
    assert db.session.query(Checkout).count() == 0


# --- replay ---------------------------------------------------------------------------

def test_replay_page_has_the_player_and_a_clickable_pin_timeline(client, world):
    go_live(world)
    services.pin(world.owner, world.show, world.other.id)
    services.end(world.owner, world.show)
    world.show.replay_url = "https://example.com/vod/replay.m3u8"
    db.session.commit()
    assert db.session.query(Pin).filter_by(show_id=world.show.id).count() == 2
    html = main_html(client.get(f"/shows/{world.show.id}/replay"))
    assert 'data-src="https://example.com/vod/replay.m3u8"' in html
    timeline = html.split('class="pin-timeline"', 1)[1]
    assert timeline.index("Black wood-ear") < timeline.index("Shiitake")
    assert f'href="/products/{world.product.id}"' in timeline and 'data-seek="0"' in timeline
    assert client.get(f"/shows/{world.show.id}").status_code == 200  # the room says it ended


# --- access control ----------------------------------------------------------------------

def test_host_console_access(client, login, make, world):
    assert client.get("/my/shows").status_code == 302  # log in first
    login(world.buyer)
    assert client.get("/my/shows").status_code == 403
    client.post("/logout")
    host = make.user()
    invite_member(world.owner, world.coop, host.email, "host")
    db.session.commit()
    login(host)
    assert client.get("/my/shows").status_code == 200
    assert client.get(f"/my/shows/{world.show.id}").status_code == 200
    other = make.coop()
    foreign = new_show(other)
    assert client.get(f"/my/shows/{foreign.id}").status_code == 404
    assert client.post(f"/my/shows/{foreign.id}/start").status_code == 404


def test_report_page_for_members_and_staff_only(client, login, make, world):
    url = f"/shows/{world.show.id}/report"
    login(world.buyer)
    assert client.get(url).status_code == 404
    client.post("/logout")
    login(make.staff())
    assert client.get(url).status_code == 200
    client.post("/logout")
    login(world.owner)
    assert "Household income generated" in main_html(client.get(url))


def test_shows_of_an_unverified_cooperative_are_hidden(client, make, world):
    decide(make.staff(), world.coop, "suspend", "paperwork missing")
    db.session.commit()
    assert world.coop.status == CoopStatus.suspended
    assert client.get(f"/shows/{world.show.id}").status_code == 404
    assert client.get(f"/livestreams/{world.show.id}.ics").status_code == 404



# --- the host console ----------------------------------------------------------------------

def local(dt):
    return dt.astimezone(SHOW_ZONE).strftime("%Y-%m-%dT%H:%M")


def form_data(w, start=None, **change):
    start = start or (utcnow() + timedelta(days=2)).replace(second=0, microsecond=0)
    data = {"title": "Honey harvest", "description": "Bees of Qinling", "stream_url": "https://example.com/h.m3u8",
            "starts_at": local(start), "ends_at": local(start + timedelta(hours=2)),
            "items-0-product_id": str(w.product.id), "items-0-live_price": "29.90", "items-0-quota": "5",
            "items-0-per_buyer_limit": "2", "items-1-product_id": ""}
    data.update(change)
    return data


def test_schedule_form_creates_the_show_with_lineup_and_cover(client, login, world):
    login(world.owner)
    start = (utcnow() + timedelta(days=2)).replace(second=0, microsecond=0)
    data = {**form_data(world, start), "cover": (io.BytesIO(jpeg_bytes()), "cover.jpg")}
    response = client.post("/my/shows/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 302
    show = db.session.query(Show).order_by(Show.id.desc()).first()
    assert response.headers["Location"].endswith(f"/my/shows/{show.id}")
    assert show.starts_at == start and show.cover_key  # typed in China time, stored in UTC
    assert [(i.product_id, i.live_price_fen, i.quota, i.per_buyer_limit) for i in show.items] == [
        (world.product.id, 2990, 5, 2)]
    assert db.session.get(Product, world.product.id).stock == 25  # 50 - 20 (first show) - 5


BAD_FORMS = {
    "start in the past": (lambda w, now: {"starts_at": local(now - timedelta(hours=1))}, "cannot start in the past"),
    "end before start": (lambda w, now: {"ends_at": local(now + timedelta(days=1))}, "end must be after the start"),
    "longer than 12 h": (lambda w, now: {"ends_at": local(now + timedelta(days=2, hours=13))}, "at most 12 hours"),
    "overlap": (lambda w, now: {"starts_at": local(now + timedelta(minutes=30)),
                                "ends_at": local(now + timedelta(minutes=90))}, "another show at that time"),
    "other product": (lambda w, now: {"items-0-product_id": str(w.foreign.id)}, "Only your cooperative"),
    "quota above stock": (lambda w, now: {"items-0-quota": "31"}, "is more than its stock"),
    "live price above regular": (lambda w, now: {"items-0-live_price": "39.81"}, "above its regular price"),
    "not a date": (lambda w, now: {"starts_at": "tomorrow"}, "Enter a date and time"),
    "not a price": (lambda w, now: {"items-0-live_price": "cheap"}, "Enter the live price in yuan"),
}


@pytest.mark.parametrize("case", list(BAD_FORMS))
def test_schedule_form_refuses_bad_input_and_changes_nothing(client, login, make, world, case):
    world.foreign = make.product(make.coop())
    change, message = BAD_FORMS[case]
    now = utcnow().replace(second=0, microsecond=0)
    login(world.owner)
    response = client.post("/my/shows/new", data=form_data(world, now + timedelta(days=2), **change(world, now)))
    assert response.status_code in (409, 422), case
    assert message in main_html(response), case
    assert db.session.query(Show).count() == 1
    assert db.session.get(Product, world.product.id).stock == 30 and db.session.get(Product, world.foreign.id).stock == 50


def test_reschedule_and_cancel_tell_subscribers(app, client, login, world):
    from marketplace.livestream.reminders import subscribe

    subscribe(world.buyer, world.show)
    world.buyer.locale = "en"  # mails follow the subscriber's language (Chinese by default)
    db.session.commit()
    login(world.owner)
    start = (utcnow() + timedelta(days=3)).replace(second=0, microsecond=0)
    assert client.get(f"/my/shows/{world.show.id}/edit").status_code == 200
    response = client.post(f"/my/shows/{world.show.id}/edit",
                           data={"starts_at": local(start), "ends_at": local(start + timedelta(hours=1))})
    assert response.status_code == 302 and db.session.get(Show, world.show.id).starts_at == start
    outbox = app.extensions["mail_outbox"]
    sent = len(outbox)
    assert outbox[-1]["To"] == world.buyer.email and "Wood-ear harvest live" in outbox[-1]["Subject"]
    too_long = client.post(f"/my/shows/{world.show.id}/edit",
                           data={"starts_at": local(start), "ends_at": local(start + timedelta(hours=13))})
    assert too_long.status_code == 422 and "at most 12 hours" in main_html(too_long)
    assert client.post(f"/my/shows/{world.show.id}/cancel").status_code == 302
    assert db.session.get(Show, world.show.id).status == ShowStatus.cancelled
    assert db.session.get(Product, world.product.id).stock == 50  # the quota went back
    assert len(outbox) == sent + 1 and outbox[-1]["To"] == world.buyer.email  # (in the buyer's language)


def test_console_runs_the_show(client, login, make, world):
    login(world.owner)
    base = f"/my/shows/{world.show.id}"
    assert client.post(f"{base}/start").status_code == 302
    assert db.session.get(Show, world.show.id).status == ShowStatus.live
    client.post(f"{base}/pin", data={"product_id": world.product.id})
    assert db.session.query(Pin).filter_by(show_id=world.show.id, unpinned_at=None).count() == 1
    refused = client.post(f"{base}/pin", data={"product_id": make.product(world.coop).id}, follow_redirects=True)
    assert "not in this show" in main_html(refused)
    client.post(f"{base}/quota", data={"product_id": world.product.id, "quota": 25})
    assert db.session.get(Product, world.product.id).stock == 25
    html = main_html(client.get(base))
    assert "Unpin" in html and "End the show" in html
    data = client.get(f"{base}/orders.json").get_json()
    assert data["items"] == [] and data["status"] == "live" and data["viewers"] == 0
    client.post(f"{base}/pin", data={"product_id": ""})
    assert db.session.query(Pin).filter_by(show_id=world.show.id, unpinned_at=None).count() == 0
    assert client.post(f"{base}/end").status_code == 302
    client.post(f"{base}/replay", data={"replay_url": "https://example.com/vod/1.m3u8"})
    assert db.session.get(Show, world.show.id).replay_url == "https://example.com/vod/1.m3u8"
    refused = client.post(f"{base}/quota", data={"product_id": world.product.id, "quota": 30}, follow_redirects=True)
    assert db.session.get(Product, world.product.id).stock == 50  # after the show, quotas stay closed
