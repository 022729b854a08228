"""One live room served by two gunicorn processes (gevent workers, production config)
that share PostgreSQL and Redis: what one process does, the viewers of the other see,
and a flash sale whose buyers are split across both sells exactly its live quota."""
import http.client
import json
import threading
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import func, select

from marketplace.auth.services import issue_api_token
from marketplace.catalog.models import Product
from marketplace.extensions import db
from marketplace.livestream import services
from marketplace.livestream.models import LineupItem
from marketplace.orders.models import Order, OrderLine, OrderStatus
from tests.conftest import owner_of
from tests.livestream.test_views import ADDRESS, new_show
from tests.multiprocess.sse import EventStream

LIVE_PRICE = 2990


@dataclass
class LiveShow:
    show_id: int
    product_id: int
    host_token: str

    @property
    def events(self):
        return f"/api/v1/livestreams/{self.show_id}/events"


def live_show(make, quota=20, stock=None) -> LiveShow:
    """A show on air now with one lineup product (one unit per buyer at the live price)."""
    coop = make.coop()
    product = make.product(coop, title="Black wood-ear", price_fen=3980, stock=stock or quota)
    show = new_show(coop, items=[{"product_id": product.id, "live_price_fen": LIVE_PRICE, "quota": quota,
                                  "per_buyer_limit": 1}])
    services.start(owner_of(coop), show)
    token, _ = issue_api_token(owner_of(coop))
    db.session.commit()
    return LiveShow(show.id, product.id, token)


def post(server, path, body, token, source="127.0.0.1"):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120, source_address=(source, 0))
    try:
        conn.request("POST", path, json.dumps(body), {"Content-Type": "application/json",
                                                      "Authorization": f"Bearer {token}"})
        response = conn.getresponse()
        return response.status, json.loads(response.read() or b"null")
    finally:
        conn.close()


def is_state(event):
    return event.type == "status"  # the room's state comes after the stream has subscribed


def test_a_viewer_of_one_process_sees_a_pin_made_through_the_other(app, make, gunicorn_pair):
    first, second = gunicorn_pair
    live = live_show(make)
    with EventStream(first.url, live.events) as viewer:
        viewer.wait_for(is_state, 60, "the room's state")
        assert viewer.of_type("pin") == []
        status, body = post(second, f"/api/v1/livestreams/{live.show_id}/pin", {"product_id": live.product_id},
                            live.host_token)
        assert status == 200, body
        pin = viewer.wait_for(lambda e: e.type == "pin", 15, "the pin made through the other process")
    assert pin.data["product_id"] == live.product_id
    assert pin.data["live_price_fen"] == LIVE_PRICE and pin.data["remaining"] == 20


def test_the_viewer_count_adds_up_the_viewers_of_both_processes(app, make, gunicorn_pair):
    first, second = gunicorn_pair
    live = live_show(make)
    with EventStream(first.url, live.events, source="127.4.0.1") as one, \
            EventStream(second.url, live.events, source="127.4.0.2") as two:
        one.wait_for(is_state, 60, "the room's state")
        two.wait_for(is_state, 60, "the room's state")
        with EventStream(first.url, live.events, source="127.4.0.3") as three:
            three.wait_for(lambda e: e.type == "viewers" and e.data["count"] == 3, 30, "a count of 3 viewers")
            assert all(e.data["count"] <= 3 for e in three.of_type("viewers"))


BUYERS_PER_PROCESS = 30
QUOTA = 25


def rush(servers, live, tokens) -> list[tuple[int, dict]]:
    """Every buyer presses "buy" at the same moment, buyer n through servers[n % 2],
    each from its own loopback address (as distinct people; the checkout rate limit is
    per address)."""
    body = {"items": [{"product_id": live.product_id, "quantity": 1, "livestream_id": live.show_id}],
            "shipping_address": ADDRESS}
    go = threading.Barrier(len(tokens))
    answers = [None] * len(tokens)

    def buy(n, token):
        go.wait()
        answers[n] = post(servers[n % 2], "/api/v1/checkouts", body, token, source=f"127.3.{n // 200}.{n % 200 + 1}")

    threads = [threading.Thread(target=buy, args=(n, token)) for n, token in enumerate(tokens)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    return answers


def test_a_flash_sale_split_across_both_processes_sells_exactly_the_quota(app, make, gunicorn_pair):
    first, second = gunicorn_pair
    live = live_show(make, quota=QUOTA)
    tokens = [issue_api_token(make.user())[0] for _ in range(2 * BUYERS_PER_PROCESS)]
    db.session.commit()
    with EventStream(second.url, live.events) as viewer:
        viewer.wait_for(is_state, 60, "the room's state")
        answers = rush((first, second), live, tokens)
        viewer.wait_for(lambda e: e.type == "stock" and e.data == {"product_id": live.product_id, "remaining": 0,
                                                              "sold": QUOTA, "quota": QUOTA},
                        30, "the sold-out stock event")
    statuses = Counter(status for status, _ in answers)
    assert statuses == {201: QUOTA, 409: 2 * BUYERS_PER_PROCESS - QUOTA}, (statuses, first.log_text()[-2000:])
    assert {body["amount_fen"] for status, body in answers if status == 201} == {LIVE_PRICE}
    assert {body["error"]["code"] for status, body in answers if status == 409} == {"insufficient_stock"}
    _assert_database_sold_exactly(live, QUOTA)


def _assert_database_sold_exactly(live, quota):
    db.session.expire_all()
    item = db.session.scalar(select(LineupItem).where(LineupItem.show_id == live.show_id))
    live_units = db.session.scalar(
        select(func.sum(OrderLine.quantity)).join(Order).where(
            OrderLine.livestream_id == live.show_id, OrderLine.unit_price_fen == LIVE_PRICE,
            Order.status == OrderStatus.pending_payment))
    regular = db.session.scalar(select(func.count()).select_from(OrderLine).where(
        OrderLine.product_id == live.product_id, OrderLine.livestream_id.is_(None)))
    assert (item.sold, live_units, regular) == (quota, quota, 0)
    assert db.session.get(Product, live.product_id).stock == 0
