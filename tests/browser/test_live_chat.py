"""Live chat in Chromium, host and viewer in two browser contexts: the viewer sees
how many watch, writes (script-looking text stays text), the host's console gets
the message by its event stream, mutes the writer and deletes the message, which
disappears from the viewer's open page; the muted viewer is told so."""
import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from marketplace.core.db import utcnow
from marketplace.extensions import db
from marketplace.livestream import services
from marketplace.livestream.models import ChatMessage, ChatMute
from tests.browser.test_live_journey import viewer  # noqa: F401 - the second browser context
from tests.browser.test_storefront import log_in
from tests.conftest import Factory, owner_of

pytestmark = pytest.mark.browser
SCRIPTY = "<b>好吃吗？</b><script>alert(1)</script>"


def live_show(live_server):
    with live_server.app_context():
        make = Factory()
        coop = make.coop()
        host, buyer = owner_of(coop), make.user(name="Buyer Wang")
        start = utcnow() + timedelta(minutes=5)
        show = services.schedule(host, coop, {"title": "Chatty show", "starts_at": start,
                                              "stream_url": "https://streams.example.org/chatty.m3u8",
                                              "ends_at": start + timedelta(hours=1)}, [])
        services.start(host, show)
        db.session.commit()
        return show.id, host.email, buyer.email


def test_host_mutes_and_deletes_a_message_and_the_viewer_sees_it_go(page, viewer, live_server, live_url, shot):
    page.route("https://streams.example.org/**", lambda route: route.abort())
    show_id, host_email, buyer_email = live_show(live_server)
    log_in(page, live_url, host_email)
    page.goto(f"{live_url}/my/shows/{show_id}")
    log_in(viewer, live_url, buyer_email)
    viewer.goto(f"{live_url}/shows/{show_id}")
    expect(viewer.locator("#viewer-count")).to_have_text(re.compile(r"^[1-9]\d*$"))

    viewer.get_by_label("Your message").fill(SCRIPTY)
    viewer.get_by_role("button", name="Send").click()
    mine = viewer.locator("#chat-list li", has_text="好吃吗")
    expect(mine).to_contain_text(SCRIPTY)  # shown as the text it is
    expect(viewer.locator("#chat-list b, #chat-list script")).to_have_count(0)
    viewer.shot("1-written")

    theirs = page.locator("#chat-list li", has_text="好吃吗")
    expect(theirs).to_contain_text("Buyer Wang")  # arrived in the console by its event stream
    theirs.get_by_role("button", name="Mute").click()
    expect(page.locator("#chat-error")).to_have_text("The author can no longer write in this show.")
    theirs.get_by_role("button", name="Delete").click()
    expect(theirs).to_have_count(0)
    shot("moderated")

    expect(mine).to_have_count(0)  # gone from the viewer's open page too
    viewer.get_by_label("Your message").fill("Why was that removed?")
    viewer.get_by_role("button", name="Send").click()
    expect(viewer.locator("#chat-error")).to_have_text("The host has muted you in this show.")
    viewer.shot("2-muted")
    with live_server.app_context():
        assert db.session.query(ChatMessage).one().deleted_at is not None
        assert db.session.query(ChatMute).count() == 1
