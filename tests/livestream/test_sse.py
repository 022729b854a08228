"""The live room's real-time parts over HTTP: the event stream (state, live events,
Last-Event-ID resume, viewers), and the chat box (JSON, rate limits, moderation)."""
import threading
import time
from datetime import timedelta

from marketplace.extensions import db
from marketplace.livestream import chat, services
from marketplace.livestream.events import channel
from marketplace.livestream.models import ChatMessage, ChatMute, Show, ShowViewer
from tests.conftest import main_html, owner_of
from tests.livestream.test_views import go_live, world  # noqa: F401 - the fixture

EVENTS = "/api/v1/livestreams/{}/events"


def read(client, show_id, seconds=0.3, **kwargs):
    """The bounded stream (max_seconds is honoured in testing only), read inside the request's context."""
    response = client.get(EVENTS.format(show_id), query_string={"max_seconds": seconds, **kwargs.pop("query", {})},
                          buffered=True, **kwargs)
    return response, response.get_data(as_text=True)


def events_of(text):
    """[(id, type)] of the SSE text."""
    out = []
    for block in text.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line and not line.startswith(":"))
        if "event" in fields:
            out.append((int(fields["id"]), fields["event"]))
    return out


def test_stream_sends_the_room_state_with_sse_headers(client, world):
    go_live(world)
    response, text = read(client, world.show.id)
    assert response.status_code == 200 and response.mimetype == "text/event-stream"
    assert response.headers["Cache-Control"] == "no-cache" and response.headers["X-Accel-Buffering"] == "no"
    assert text.startswith("retry: 3000\n\n")
    kinds = [kind for _id, kind in events_of(text)]
    assert kinds[:2] == ["status", "pin"] and kinds.count("stock") == 2
    assert '"live_price_fen": 2990' in text and '"status": "live"' in text


def test_last_event_id_resumes_without_loss_by_header_or_query(client, world):
    go_live(world)  # event 1: status live, event 2: pin
    chat.post(world.buyer, world.show, "<b>好吃吗？</b>")  # event 3
    services.adjust_quota(world.owner, world.show, world.product.id, 21)  # event 4: stock
    db.session.commit()
    _, text = read(client, world.show.id, headers={"Last-Event-ID": "2"})
    assert events_of(text) == [(3, "chat"), (4, "stock")]
    assert "<b>好吃吗？</b>" in text  # JSON data; the page sets it with textContent
    _, text = read(client, world.show.id, query={"last_event_id": 3})
    assert events_of(text) == [(4, "stock")]
    _, text = read(client, world.show.id, headers={"Last-Event-ID": "not-a-number"})
    assert [kind for _id, kind in events_of(text)][:2] == ["status", "pin"]  # a fresh start


def test_events_published_while_streaming_arrive_in_order(app, client, world):
    go_live(world, pin=False)
    show_id, product_id, owner_id = world.show.id, world.product.id, world.owner.id

    def host_pins():
        deadline = time.monotonic() + 5
        while app.extensions["broker"].count(channel(show_id)) == 0 and time.monotonic() < deadline:
            time.sleep(0.05)  # until the viewer's stream is subscribed
        # as the host's pin request does: a POST, whose transaction takes SQLite's write lock at
        # BEGIN (core/db.py); a plain app context would begin deferred, read, then find that the
        # viewer's stream wrote in between ("database is locked" at once, now and then)
        with app.test_request_context("/", method="POST"):
            from marketplace.auth.models import User
            show, host = db.session.get(Show, show_id), db.session.get(User, owner_id)
            services.pin(host, show, product_id)
            services.adjust_quota(host, show, product_id, 19)
            db.session.commit()

    writer = threading.Thread(target=host_pins)
    writer.start()
    _, text = read(client, show_id, seconds=3)
    writer.join()
    assert events_of(text)[-2:] == [(2, "pin"), (3, "stock")]
    assert '"remaining": 19' in text


def test_opening_the_stream_counts_a_viewer_once_and_the_peak(client, login, world):
    go_live(world)
    client.get(f"/shows/{world.show.id}")  # the page gives an anonymous browser its key
    read(client, world.show.id, seconds=0.1)
    read(client, world.show.id, seconds=0.1)
    login(world.buyer)
    read(client, world.show.id, seconds=0.1)
    read(client, world.show.id, seconds=0.1, query={"console": 1})  # the host console is not a viewer
    keys = {v.viewer_key for v in db.session.query(ShowViewer).filter_by(show_id=world.show.id)}
    assert len(keys) == 2 and f"u:{world.buyer.id}" in keys
    assert db.session.get(Show, world.show.id).peak_viewers == 1


def test_unknown_show_is_a_json_404(client):
    response = client.get(EVENTS.format(999))
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"


# --- the room's chat box ----------------------------------------------------------------------

def test_chat_post_returns_json_and_needs_login(client, login, world):
    response = client.post(f"/shows/{world.show.id}/chat", json={"body": "hello"})
    assert response.status_code == 401 and response.get_json()["error"]["code"] == "unauthorized"
    login(world.buyer)
    response = client.post(f"/shows/{world.show.id}/chat", data={"body": "  hello   there "})
    assert response.status_code == 201 and response.get_json()["body"] == "hello there"
    too_long = client.post(f"/shows/{world.show.id}/chat", json={"body": "x" * 301})
    assert too_long.status_code == 422 and too_long.get_json()["error"]["code"] == "message_too_long"


def _backdate_chat(show):
    for message in db.session.query(ChatMessage).filter_by(show_id=show.id):
        message.created_at = message.created_at - timedelta(minutes=5)
    db.session.commit()


def test_chat_is_rate_limited_per_user(app, client, login, make, world):
    app.config["CHAT_RATE_LIMIT"] = "3 per minute"  # every attempt counts, refused ones too
    login(world.buyer)
    url = f"/shows/{world.show.id}/chat"
    assert client.post(url, json={"body": "one"}).status_code == 201
    fast = client.post(url, json={"body": "two"})  # the core's minimum interval
    assert fast.status_code == 429 and fast.get_json()["error"]["code"] == "rate_limited"
    _backdate_chat(world.show)
    assert client.post(url, json={"body": "three"}).status_code == 201
    _backdate_chat(world.show)
    flood = client.post(url, json={"body": "four"})  # Flask-Limiter: the fourth attempt within the minute
    assert flood.status_code == 429 and flood.get_json()["error"]["code"] == "rate_limited"
    assert db.session.query(ChatMessage).filter_by(show_id=world.show.id).count() == 2


def test_host_deletes_a_message_and_mutes_its_author(client, login, make, world):
    message = chat.post(world.buyer, world.show, "buy elsewhere, cheaper!")
    db.session.commit()
    login(world.owner)
    base = f"/my/shows/{world.show.id}/chat/{message.id}"
    response = client.post(f"{base}/delete", headers={"Accept": "application/json"})
    assert response.status_code == 200 and response.get_json()["action"] == "delete"
    assert client.post(f"{base}/mute").status_code == 302
    db.session.refresh(message)
    assert message.deleted_at is not None and message.deleted_by_id == world.owner.id
    assert db.session.query(ChatMute).filter_by(show_id=world.show.id, user_id=world.buyer.id).count() == 1
    assert "buy elsewhere" not in main_html(client.get(f"/shows/{world.show.id}"))
    client.post("/logout")
    login(world.buyer)
    muted = client.post(f"/shows/{world.show.id}/chat", json={"body": "hello?"})
    assert muted.status_code == 403 and muted.get_json()["error"]["code"] == "muted"
    stranger = make.coop()  # another cooperative's owner cannot moderate this show
    client.post("/logout")
    login(owner_of(stranger))
    assert client.post(f"{base}/delete").status_code == 404




def test_viewer_count_events(client, monkeypatch, world):
    from marketplace.livestream import stream

    monkeypatch.setattr(stream, "VIEWERS_EVERY_SECONDS", 0.2)
    go_live(world)
    _, text = read(client, world.show.id, seconds=0.6)
    assert "event: viewers" in text and '"count": 1' in text


def test_pin_card_of_a_product_with_a_photo_streams_its_image_urls(app, client, world):
    from marketplace.catalog.services import add_image
    from tests.conftest import jpeg_bytes

    add_image(world.owner, world.product, jpeg_bytes(), alt="wood-ear")
    with app.test_request_context():  # (pins come from requests; the card has image URLs)
        go_live(world)
    _, text = read(client, world.show.id)
    assert '"image_urls": {"thumb": "/media/' in text


def test_a_viewer_joining_right_after_another_sees_the_room_as_it_is_now(client, world):
    go_live(world, pin=False)
    _, text = read(client, world.show.id, seconds=0.1)
    assert "event: pin" not in text
    services.pin(world.owner, world.show, world.product.id)  # within the state's reuse time
    db.session.commit()
    _, text = read(client, world.show.id, seconds=0.1)
    assert [kind for _id, kind in events_of(text)][:2] == ["status", "pin"]


def test_a_stream_whose_broker_missed_events_reads_them_when_told_to_resync(app, client, monkeypatch, world):
    """What a process's viewers get when its Redis listener is back after an outage: the
    events published meanwhile (stored, never delivered here) come from the database."""
    from marketplace.core.realtime import RESYNC

    go_live(world, pin=False)
    broker = app.extensions["broker"]
    show_id, product_id, owner_id = world.show.id, world.product.id, world.owner.id

    def pin_unheard_then_resync():
        deadline = time.monotonic() + 5
        while broker.count(channel(show_id)) == 0 and time.monotonic() < deadline:
            time.sleep(0.05)  # until the viewer's stream is subscribed
        # as the host's pin request does: a POST, whose transaction takes SQLite's write lock at
        # BEGIN (core/db.py); a plain app context would begin deferred, read, then find that the
        # viewer's stream wrote in between ("database is locked" at once, now and then)
        with app.test_request_context("/", method="POST"):
            from marketplace.auth.models import User
            monkeypatch.setattr(broker, "publish", lambda *a: None)  # the other process, Redis away
            services.pin(db.session.get(User, owner_id), db.session.get(Show, show_id), product_id)
            db.session.commit()
        broker.deliver_everywhere(RESYNC)

    writer = threading.Thread(target=pin_unheard_then_resync)
    writer.start()
    _, text = read(client, show_id, seconds=3)
    writer.join()
    assert events_of(text)[-1] == (2, "pin")
