"""Rules of a show's life a viewer or host notices: which shows the home page lists
and in what order, when a quota may change, when a show may go live, which stream
addresses a room can play, and the viewer count arriving at once."""
from datetime import timedelta

import pytest
from sqlalchemy import update

from marketplace.catalog.models import Product
from marketplace.coops.services import decide
from marketplace.core.db import utcnow
from marketplace.core.errors import DomainError
from marketplace.extensions import db
from marketplace.livestream import services
from marketplace.livestream.models import LineupItem, Show, ShowStatus
from tests.conftest import main_html, owner_of
from tests.livestream.test_sse import events_of, read
from tests.livestream.test_views import go_live, new_show, world  # noqa: F401 - the fixture


def refused(code, call, *args, **kwargs):
    with pytest.raises(DomainError) as info:
        call(*args, **kwargs)
    assert info.value.code == code, info.value.code
    db.session.rollback()
    return info.value


# --- (a) "Upcoming and live now" --------------------------------------------------------------

def test_live_shows_come_first_and_only_verified_cooperatives_are_listed(client, make, world):
    sooner = new_show(make.coop(), minutes=60, title="Honey in an hour")
    go_live(world)  # world.show: live now
    suspended, pending = make.coop(), make.coop(status="pending")
    hidden_live = new_show(suspended, minutes=3, title="Suspended co-op live")
    services.start(owner_of(suspended), hidden_live)
    decide(make.staff(), suspended, "suspend", "paperwork missing")
    new_show(pending, minutes=2, title="Pending co-op soon")
    db.session.commit()

    assert [s.id for s in services.upcoming_and_live()] == [world.show.id, sooner.id]
    assert [s.id for s in services.upcoming_and_live(limit=1)] == [world.show.id]  # the limit never hides live
    html = main_html(client.get("/"))
    assert html.index("Wood-ear harvest live") < html.index("Honey in an hour")
    assert "Suspended co-op live" not in html and "Pending co-op soon" not in html
    shows_page = main_html(client.get("/shows"))
    assert "Suspended co-op live" not in shows_page and "Pending co-op soon" not in shows_page
    assert shows_page.index("Wood-ear harvest live") < shows_page.index("Honey in an hour")


def test_the_next_upcoming_shows_come_in_start_order(make, world):
    coop = make.coop()
    later = new_show(coop, minutes=300, title="Later")
    soon = new_show(coop, minutes=100, title="Soon")
    assert [s.id for s in services.upcoming_and_live()] == [world.show.id, soon.id, later.id]


# --- (b) quotas change only before and during the show -----------------------------------------

@pytest.mark.parametrize("how", ["ended", "cancelled"])
def test_a_quota_of_a_show_that_is_over_cannot_change(world, how):
    if how == "ended":
        go_live(world, pin=False)
        services.end(world.owner, world.show)
    else:
        services.cancel(world.owner, world.show)
    db.session.commit()
    assert db.session.get(Product, world.product.id).stock == 50  # the unsold quota went back
    err = refused("show_over", services.adjust_quota, world.owner, world.show, world.product.id, 10)
    assert err.status == 409 and "only before and during the show" in str(err.message)
    assert db.session.get(Product, world.product.id).stock == 50  # no units made or lost
    assert db.session.get(LineupItem, world.show.items[0].id).quota == 0


def test_the_console_says_why_a_quota_of_an_ended_show_stays(client, login, world):
    go_live(world, pin=False)
    services.end(world.owner, world.show)
    db.session.commit()
    login(world.owner)
    page = client.post(f"/my/shows/{world.show.id}/quota", data={"product_id": world.product.id, "quota": 5},
                       follow_redirects=True)
    assert "Quotas can change only before and during the show." in main_html(page)
    assert db.session.get(Product, world.product.id).stock == 50


def test_a_quota_can_drop_to_zero_during_the_show(client, login, world):
    go_live(world, pin=False)
    login(world.owner)
    page = client.post(f"/my/shows/{world.show.id}/quota", data={"product_id": world.product.id, "quota": 0},
                       follow_redirects=True)
    assert "The quota is updated." in main_html(page)
    assert db.session.get(Product, world.product.id).stock == 50
    assert db.session.get(LineupItem, world.show.items[0].id).remaining == 0


def test_a_quota_lowered_while_someone_buys_never_goes_below_what_is_sold(world):
    go_live(world, pin=False)
    item = world.show.items[0]  # quota 20, sold 0 as the host's page read it
    db.session.execute(update(LineupItem).where(LineupItem.id == item.id).values(sold=5)
                       .execution_options(synchronize_session=False))  # a sale the host has not seen
    refused("quota_changed", services.adjust_quota, world.owner, world.show, world.product.id, 3)
    fresh = db.session.get(LineupItem, item.id)
    assert (fresh.quota, fresh.sold) == (20, 0)  # (the rollback undid the test's sale too)
    assert db.session.get(Product, world.product.id).stock == 30


# --- (c) no start after the scheduled end --------------------------------------------------------

def test_a_show_cannot_start_after_its_scheduled_end(world):
    show = world.show
    refused("too_late", services.start, world.owner, show, now=show.ends_at)
    assert db.session.get(Show, show.id).status == ShowStatus.scheduled
    services.start(world.owner, show, now=show.ends_at - timedelta(seconds=1))  # the last second is fine
    assert show.status == ShowStatus.live


def _overdue(show):
    """Move a scheduled show into the past, as if the host forgot it."""
    db.session.execute(update(Show).where(Show.id == show.id).values(
        starts_at=utcnow() - timedelta(hours=2), ends_at=utcnow() - timedelta(hours=1)))
    db.session.commit()


def test_the_console_and_the_api_refuse_to_start_an_overdue_show(api, client, login, world):
    _overdue(world.show)
    login(world.owner)
    page = client.post(f"/my/shows/{world.show.id}/start", follow_redirects=True)
    assert "scheduled end has passed" in main_html(page)
    body = api("post", f"/livestreams/{world.show.id}/start", user=world.owner)
    assert body.status_code == 409 and body.get_json()["error"]["code"] == "too_late"
    assert db.session.get(Show, world.show.id).status == ShowStatus.scheduled


# --- stream addresses a room can play ------------------------------------------------------------

@pytest.mark.parametrize("field,url", [("stream_url", "http://cdn.example.com/live.m3u8"),
                                       ("stream_url", "https://"), ("replay_url", "http://cdn.example.com/vod.m3u8")])
def test_streams_and_replays_are_https_only(make, field, url):
    coop = make.coop()
    data = {"title": "Plain http", "stream_url": "https://cdn.example.com/live.m3u8",
            "starts_at": utcnow() + timedelta(hours=1), "ends_at": utcnow() + timedelta(hours=2), field: url}
    err = refused("invalid", services.schedule, owner_of(coop), coop, data, [])
    assert field in err.fields and "https://" in str(err.message)


def test_the_console_refuses_a_plain_http_replay(client, login, world):
    go_live(world, pin=False)
    services.end(world.owner, world.show)
    db.session.commit()
    login(world.owner)
    page = client.post(f"/my/shows/{world.show.id}/replay", data={"replay_url": "http://cdn.example.com/vod.m3u8"},
                       follow_redirects=True)
    assert "must start with https://" in main_html(page)
    assert db.session.get(Show, world.show.id).replay_url is None


# --- the viewer count -------------------------------------------------------------------------------

def test_a_new_viewer_gets_the_viewer_count_at_once(client, world):
    go_live(world)
    _, text = read(client, world.show.id, seconds=0.1)  # far shorter than the 5-second interval
    kinds = [kind for _id, kind in events_of(text)]
    assert kinds[-1] == "viewers" and '"count": 1' in text


# --- the way to the report ----------------------------------------------------------------------------

def test_members_and_staff_find_the_report_from_the_show_and_replay_pages(client, login, make, world):
    go_live(world, pin=False)
    services.end(world.owner, world.show)
    db.session.commit()
    report = f'href="/shows/{world.show.id}/report"'
    pages = (f"/shows/{world.show.id}", f"/shows/{world.show.id}/replay")
    assert all(report not in main_html(client.get(p)) for p in pages)  # a visitor
    login(world.buyer)
    assert all(report not in main_html(client.get(p)) for p in pages)
    client.post("/logout")
    login(make.staff())
    assert all(report in main_html(client.get(p)) for p in pages)
    client.post("/logout")
    login(world.owner)
    assert all(report in main_html(client.get(p)) for p in pages)
