"""Fixtures for the background jobs: the app pointed at a real Redis (TEST_REDIS_URL),
a burst `flask worker`, and things for jobs to work on."""
import os
import signal
from datetime import timedelta

import pytest
from redis import Redis

from marketplace.core.db import utcnow
from marketplace.extensions import db
from marketplace.jobs import worker
from marketplace.livestream import reminders, services
from marketplace.orders.models import Checkout
from tests.conftest import owner_of
from tests.jobs.servers import clear_job_keys
from tests.orders.helpers import place

REDIS_URL = os.environ.get("TEST_REDIS_URL")


@pytest.fixture
def redis_url():
    if not REDIS_URL:
        pytest.skip("needs TEST_REDIS_URL (e.g. redis://127.0.0.1:6379/0): queues and shared limits live in Redis")
    client = Redis.from_url(REDIS_URL)
    clear_job_keys(client)
    yield REDIS_URL
    clear_job_keys(client)
    client.close()


@pytest.fixture
def queued_app(app, redis_url, monkeypatch):
    """The test app with REDIS_URL set: jobs go on the queues instead of running inline."""
    monkeypatch.setitem(app.config, "REDIS_URL", redis_url)
    return app


@pytest.fixture
def work(queued_app):
    """work(): what `flask worker --burst` does (each job in a forked work horse, the
    scheduler's due retries first); returns whether any job ran."""
    def run_burst(**options):
        db.session.commit()  # the work horses must see what the test wrote
        handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            return worker.run(queued_app, burst=True, **options)
        finally:
            for sig, handler in handlers.items():  # rq's worker installs its own
                signal.signal(sig, handler)
            db.session.expire_all()
    return run_burst


@pytest.fixture
def overdue_checkout(api, make):
    """A placed, unpaid checkout of 4 units whose reservation ran out a minute ago."""
    product = make.product(stock=10)
    buyer = make.user()
    checkout_id = place(api, buyer, (product, 4)).get_json()["id"]
    db.session.get(Checkout, checkout_id).expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    return db.session.get(Checkout, checkout_id), product


@pytest.fixture
def show_soon(make):
    """A show starting in 10 minutes, with two subscribers wanting a reminder."""
    coop = make.coop()
    product = make.product(coop, price_fen=3980, stock=50)
    show = services.schedule(owner_of(coop), coop, {
        "title": "Wood-ear harvest live", "stream_url": "https://example.com/live/stream.m3u8",
        "starts_at": (utcnow() + timedelta(minutes=10)).isoformat(),
        "ends_at": (utcnow() + timedelta(minutes=70)).isoformat()},
        [{"product_id": product.id, "live_price_fen": 2990, "quota": 20, "per_buyer_limit": 2}])
    fans = [make.user(email="ana@example.com"), make.user(email="bo@example.com")]
    for fan in fans:
        fan.locale = "en"
        reminders.subscribe(fan, show)
    db.session.commit()
    return show, fans
