"""GET /metrics: what operators graph and alert on, and who may read it."""
import threading
import time

import pytest
from prometheus_client.parser import text_string_to_metric_families

from marketplace.extensions import db
from marketplace.orders.models import Checkout
from marketplace.payments.gateway import GatewayEvent
from marketplace.payments.services import handle_event
from tests.livestream.test_views import go_live, world  # noqa: F401 - the fixture
from tests.orders.helpers import place, place_and_pay

REDIS_URL = "redis://127.0.0.1:6379/8"


def scrape(client, **kwargs) -> dict:
    """{(sample name, sorted labels): value} of one scrape."""
    response = client.get("/metrics", **kwargs)
    assert response.status_code == 200, response.status_code
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(response.get_data(as_text=True)) for s in family.samples}


def value(client, name, **labels) -> float:
    return scrape(client).get((name, tuple(sorted(labels.items()))), 0.0)


# --- who may read it ------------------------------------------------------------------

def test_loopback_may_read_and_others_get_403(client):
    assert client.get("/metrics").status_code == 200
    outside = client.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.7"})
    assert outside.status_code == 403 and "marketplace_" not in outside.get_data(as_text=True)


def test_a_bearer_token_opens_it_from_anywhere(app_factory, app):
    client = app_factory(METRICS_TOKEN="s3cret-scraper-token-2026", METRICS_ALLOW="").test_client()
    outside = {"REMOTE_ADDR": "203.0.113.7"}
    assert client.get("/metrics", environ_base=outside,
                      headers={"Authorization": "Bearer s3cret-scraper-token-2026"}).status_code == 200
    assert client.get("/metrics", environ_base=outside, headers={"Authorization": "Bearer guess"}).status_code == 403
    assert client.get("/metrics").status_code == 403  # METRICS_ALLOW="": not even loopback


def test_allowed_networks_are_configurable(app_factory, app):
    client = app_factory(METRICS_ALLOW="10.0.0.0/8, 192.168.5.0/24").test_client()
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.20.30.40"}).status_code == 200
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "192.168.6.1"}).status_code == 403
    with pytest.raises(RuntimeError, match="METRICS_ALLOW"):
        app_factory(METRICS_ALLOW="everyone")


def test_openmetrics_is_served_to_a_scraper_that_asks_for_it(client):
    response = client.get("/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"})
    assert response.mimetype == "application/openmetrics-text"
    assert response.get_data(as_text=True).endswith("# EOF\n")


# --- what it says -----------------------------------------------------------------------

def test_request_latency_is_counted_by_endpoint_and_status(client):
    name = "marketplace_http_request_duration_seconds_count"
    before_ok = value(client, name, method="GET", endpoint="catalog.catalog", status="200")
    before_404 = value(client, name, method="GET", endpoint="unmatched", status="404")
    for _ in range(3):
        assert client.get("/products").status_code == 200
    assert client.get("/no-such-page").status_code == 404
    assert value(client, name, method="GET", endpoint="catalog.catalog", status="200") == before_ok + 3
    assert value(client, name, method="GET", endpoint="unmatched", status="404") == before_404 + 1
    buckets = scrape(client)
    fastest = buckets[("marketplace_http_request_duration_seconds_bucket",
                       (("endpoint", "catalog.catalog"), ("le", "+Inf"), ("method", "GET"), ("status", "200")))]
    assert fastest == before_ok + 3


def test_checkouts_and_paid_orders_are_counted_once_committed(client, api, make):
    buyer, product = make.user(), make.product(stock=3, price_fen=1990)
    placed = value(client, "marketplace_checkouts_placed_total")
    paid = value(client, "marketplace_orders_paid_total")
    paid_fen = value(client, "marketplace_orders_paid_fen_total")
    succeeded = value(client, "marketplace_payments_total", result="succeeded")

    place_and_pay(api, buyer, (product, 2))
    assert place(api, buyer, (product, 5)).status_code == 409  # not enough stock: rolled back, not counted

    assert value(client, "marketplace_checkouts_placed_total") == placed + 1
    assert value(client, "marketplace_orders_paid_total") == paid + 1
    assert value(client, "marketplace_orders_paid_fen_total") == paid_fen + 2 * 1990
    assert value(client, "marketplace_payments_total", result="succeeded") == succeeded + 1


def test_declined_payments_are_counted_once_and_rolled_back_ones_not(client, api, make):
    buyer, product = make.user(), make.product(stock=9)
    checkout = db.session.get(Checkout, place(api, buyer, (product, 1)).get_json()["id"])
    failed = value(client, "marketplace_payments_total", result="failed")

    def declined(event_id):
        return GatewayEvent(id=event_id, type="payment_intent.payment_failed",
                            payment_intent_id=checkout.payment_intent_id, amount_fen=None, currency=None)

    assert handle_event("demo", declined("evt_declined_1")) == "released"
    db.session.commit()
    assert handle_event("demo", declined("evt_declined_1")) == "duplicate"  # the provider sent it again
    db.session.commit()
    handle_event("demo", declined("evt_declined_2"))
    db.session.rollback()  # e.g. the webhook request failed afterwards
    assert value(client, "marketplace_payments_total", result="failed") == failed + 1


def test_open_event_streams_are_a_gauge(app, client, world):
    go_live(world)
    before = value(client, "marketplace_sse_connections")
    path, watched = f"/api/v1/livestreams/{world.show.id}/events", {}

    def viewer():  # watches the room for 2 s, then leaves
        response = app.test_client().get(path,
                                         query_string={"max_seconds": 2}, buffered=True)
        watched["text"] = response.get_data(as_text=True)

    thread = threading.Thread(target=viewer)
    thread.start()
    deadline, during = time.monotonic() + 10, before
    while during == before and time.monotonic() < deadline and thread.is_alive():
        during = value(client, "marketplace_sse_connections")
    thread.join()
    assert during == before + 1
    assert "event: status" in watched["text"]
    assert value(client, "marketplace_sse_connections") == before


def test_job_queue_depth_is_read_from_redis_at_scrape_time(app_factory, app):
    from redis import Redis
    from rq import Queue

    client = app_factory(REDIS_URL=REDIS_URL).test_client()
    queue = Queue("mail", connection=Redis.from_url(REDIS_URL))
    queue.empty()
    try:
        assert value(client, "marketplace_job_queue_depth", queue="mail") == 0
        for n in range(3):
            queue.enqueue("marketplace.no_such_task", n)
        assert value(client, "marketplace_job_queue_depth", queue="mail") == 3
        assert value(client, "marketplace_job_queue_up") == 1
    finally:
        queue.empty()
        queue.connection.close()


def test_an_unreachable_redis_is_reported_not_an_error(app_factory, app):
    from redis import Redis

    unreachable = app_factory(REDIS_URL=REDIS_URL)
    unreachable.extensions["metrics_redis"] = Redis.from_url("redis://127.0.0.1:1/8", socket_connect_timeout=1)
    metrics = scrape(unreachable.test_client())
    assert metrics[("marketplace_job_queue_up", ())] == 0
    assert not [key for key in metrics if key[0] == "marketplace_job_queue_depth"]


def test_pages_answered_from_the_page_cache_are_counted(app_factory, app, make):
    make.product()
    client = app_factory(PAGE_CACHE_SECONDS=30).test_client()
    hits = value(client, "marketplace_page_cache_hits_total")
    first = client.get("/products")
    second = client.get("/products", headers={"X-Request-ID": "cdn-42"})
    assert first.headers["X-Page-Cache"] == "miss" and second.headers["X-Page-Cache"] == "hit"
    assert second.headers["X-Request-ID"] == "cdn-42"  # the cache answers before Flask, with the id all the same
    assert value(client, "marketplace_page_cache_hits_total") == hits + 1
