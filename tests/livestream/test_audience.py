"""Counting a room's viewers cheaply: distinct viewers written in batches, the peak
raised without emptying the storefront's page cache, the stock events the host
console reads "sold X of Y" from, and the event stream's join path."""
import threading
import time

import pytest

from marketplace.extensions import db
from marketplace.livestream import services
from marketplace.livestream.audience import Audience, audience
from marketplace.livestream.events import channel
from marketplace.livestream.models import Show, ShowViewer
from tests.catalog.test_page_cache import app  # noqa: F401 - the fixture: page cache on, as in production
from tests.livestream.test_sse import EVENTS, events_of, read
from tests.livestream.test_views import go_live, world  # noqa: F401 - the fixture



def visit(app, path) -> str:
    """What the page cache did for a new anonymous visitor (a client with no cookies)."""
    return app.test_client().get(path, headers={"Accept-Language": "en"}).headers["X-Page-Cache"]


def stored_keys(show_id):
    return sorted(v.viewer_key for v in db.session.query(ShowViewer).filter_by(show_id=show_id))


def test_distinct_viewers_are_written_together_once_each(app, world):
    watching = Audience()
    show_id = world.show.id
    watching.joined(show_id, "s:first", 1)
    assert watching.due()  # nothing written yet by this process: at once
    watching.write()
    assert stored_keys(show_id) == ["s:first"]
    for n, key in enumerate(["s:second", "u:7", "s:second", "s:first"], start=2):
        watching.joined(show_id, key, n)
    assert not watching.due()  # within RECORD_EVERY of the last write: buffered, no query
    watching.write(force=True)  # (a stream closing writes what is buffered)
    assert stored_keys(show_id) == ["s:first", "s:second", "u:7"]
    db.session.expire_all()  # (the peak is written on a connection of its own)
    assert db.session.get(Show, show_id).peak_viewers == 5


def test_the_peak_only_rises_and_stops_with_the_show(app, world):
    watching = Audience()
    show_id = world.show.id
    watching.seen(show_id, 40)
    watching.write(force=True)
    watching.seen(show_id, 12)  # fewer now: the peak stays
    watching.write(force=True)
    db.session.expire_all()
    assert db.session.get(Show, show_id).peak_viewers == 40
    go_live(world, pin=False)
    services.end(world.owner, world.show)
    db.session.commit()
    watching.seen(show_id, 90)  # stragglers after the end do not count
    watching.write(force=True)
    db.session.expire_all()
    assert db.session.get(Show, show_id).peak_viewers == 40


def test_a_new_peak_of_viewers_leaves_the_storefront_page_cache_alone(app, world):
    go_live(world)
    page = f"/products/{world.product.id}"
    assert visit(app, page) == "miss"
    assert visit(app, page) == "hit"
    read(app.test_client(), world.show.id, seconds=0.1, environ_base={"REMOTE_ADDR": "10.0.0.1"})
    db.session.expire_all()
    assert db.session.get(Show, world.show.id).peak_viewers == 1  # counted ...
    assert visit(app, page) == "hit"  # ... and the page kept


def test_a_crowd_joining_shares_one_room_state_and_is_all_counted(app, world, count_queries):
    go_live(world)
    show_id = world.show.id
    read(app.test_client(), show_id, seconds=0.05)  # the first viewer builds the room's state
    with count_queries() as joins:
        texts = [read(app.test_client(), show_id, seconds=0.05,
                      environ_base={"REMOTE_ADDR": f"10.0.1.{n}"})[1] for n in range(1, 6)]
    assert all(events_of(t)[:2] == [(2, "status"), (2, "pin")] for t in texts)  # the room as it is
    # per viewer one read (who may watch, the room's event number); the state is not read again
    reads = [q for q in joins.statements if q.lstrip().upper().startswith("SELECT")]
    assert len(reads) == 5 and all("event_seq" in q for q in reads)
    assert not any("UPDATE" in q.upper() for q in joins.statements)  # the peak (1) is no new peak
    assert len(stored_keys(show_id)) == 6


def test_resuming_at_the_latest_event_reads_no_backlog(app, world, count_queries):
    go_live(world)
    read(app.test_client(), world.show.id, seconds=0.05)
    audience(app).write(force=True)
    with count_queries() as resume:
        response, text = read(app.test_client(), world.show.id, seconds=0.05, headers={"Last-Event-ID": "2"})
    assert response.status_code == 200 and events_of(text) == [] and "retry: 3000" in text
    assert not any("show_events" in q for q in resume.statements)


def test_stock_events_say_sold_of_quota(app, client, world):
    go_live(world, pin=False)
    services.adjust_quota(world.owner, world.show, world.product.id, 25)
    db.session.commit()
    _, text = read(client, world.show.id, seconds=0.1, headers={"Last-Event-ID": "1"})
    assert events_of(text) == [(2, "stock")]
    assert '"remaining": 25, "sold": 0, "quota": 25' in text


def test_the_events_url_of_no_show_is_a_json_404(client):
    for show_id in (999, 2**31 + 1):
        response = client.get(EVENTS.format(show_id))
        assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"


def test_a_stream_never_read_leaves_no_viewer_behind(app, client, world):
    go_live(world)
    show_id = world.show.id
    response = client.head(EVENTS.format(show_id))  # the server closes a body it never sends
    response.close()
    assert response.status_code == 200
    assert app.extensions["broker"].count(channel(show_id)) == 0


def test_events_published_out_of_order_reach_the_viewer_in_order(app, client, world):
    """Two purchases commit as events 3 and 4 but publish in the other order: the stream
    holds 4 back until 3 arrives, rather than every viewer reading the database."""
    go_live(world)  # the room is at event 2
    show_id, broker = world.show.id, app.extensions["broker"]

    def publish_out_of_order():
        deadline = time.monotonic() + 5
        while broker.count(channel(show_id)) == 0 and time.monotonic() < deadline:
            time.sleep(0.05)  # until the viewer's stream is subscribed
        for n in (4, 3):  # (not stored: a read of the database would find neither)
            broker.publish(channel(show_id), {"id": n, "type": "stock", "data": {"product_id": 1, "remaining": n}})

    publisher = threading.Thread(target=publish_out_of_order)
    publisher.start()
    _, text = read(client, show_id, seconds=1.5)
    publisher.join()
    assert [e for e in events_of(text) if e[0] > 2] == [(3, "stock"), (4, "stock")]
