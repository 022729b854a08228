"""PostgreSQL restarted during a flash sale: two gunicorn processes (the production
layout) sell a product with little stock on a PostgreSQL of the test's own, which is
stopped (fast: open transactions rolled back, clients cut off) while checkouts are in
flight, stays down for a moment, and comes back.

Buyers whose checkout failed see a clear 503 and press "buy" again, as a person would.
Afterwards: never a 500, never more sold than the stock (every unit is either still on
sale or in an order line), every checkout answered 201 is in the database, the paid
orders and household ledger are as they were, and both processes sell again without
being restarted.
"""
import http.client
import threading
import time
from collections import Counter

from sqlalchemy import select

from marketplace.auth.services import issue_api_token
from marketplace.catalog.models import Product
from marketplace.extensions import db
from marketplace.orders.models import Checkout
from tests.conftest import Factory
from tests.faults.helpers import money_taken, money_world, units_held
from tests.multiprocess.test_live_room import post
from tests.orders.helpers import ADDRESS

STOCK = 20
BUYERS = 48
IN_FLIGHT = 12  #: checkouts sent at the moment PostgreSQL stops (fewer than STOCK: some stock is left after)
RETRY_SECONDS = 90  #: how long a buyer keeps pressing "buy" after a 503


def get(server, path):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read().decode("utf-8", "replace")
    finally:
        conn.close()


class Sale:
    """The buyers and every answer they got, in order; buyer n goes through servers[n % 2]
    from its own loopback address (the checkout rate limit is per address)."""

    def __init__(self, servers, product_id, tokens):
        self.servers, self.tokens = servers, tokens
        self.body = {"items": [{"product_id": product_id, "quantity": 1}], "shipping_address": ADDRESS}
        self.answers = []  #: (buyer, status, body)
        self._lock = threading.Lock()

    def buy(self, n):
        status, body = post(self.servers[n % 2], "/api/v1/checkouts", self.body, self.tokens[n],
                            source=f"127.7.{n // 200}.{n % 200 + 1}")
        with self._lock:
            self.answers.append((n, status, body))
        return status

    def buy_until_answered(self, n):
        """Press "buy" again after each 503, until sold (201) or sold out (409)."""
        deadline = time.monotonic() + RETRY_SECONDS
        while self.buy(n) == 503 and time.monotonic() < deadline:
            time.sleep(0.2)  # a person reads the message first

    def statuses(self, buyers=None) -> Counter:
        return Counter(s for n, s, _ in self.answers if buyers is None or n in buyers)


def all_at_once(buyers, action, also=None):
    go = threading.Barrier(len(buyers) + (1 if also else 0))

    def run(n):
        go.wait(60)
        action(n)
    threads = [threading.Thread(target=run, args=(n,)) for n in buyers]
    for thread in threads:
        thread.start()
    if also:
        go.wait(60)
        also()
    for thread in threads:
        thread.join(300)


def test_a_flash_sale_survives_postgresql_restarting(private_postgres, server_env, start_gunicorn):
    with private_postgres.app.app_context():
        make = Factory()
        world = money_world(make, stock=STOCK)
        tokens = [issue_api_token(make.user())[0] for _ in range(BUYERS)]
        db.session.commit()
        money_before = money_taken()
        db.session.remove()
    env = {**server_env, "DATABASE_URL": private_postgres.url}
    servers = (start_gunicorn("gunicorn-1", env), start_gunicorn("gunicorn-2", env))
    sale = Sale(servers, world.product_id, tokens)

    # checkouts in flight when PostgreSQL stops: each one either made it or got a 503
    all_at_once(range(IN_FLIGHT), sale.buy, also=private_postgres.stop)
    assert set(sale.statuses()) <= {201, 503}, sale.answers

    # while it is down: a clear "try again" from both processes, for the API and for pages
    down = range(IN_FLIGHT, IN_FLIGHT + 4)
    all_at_once(down, sale.buy)
    assert sale.statuses(down) == {503: len(down)}
    assert {b["error"]["code"] for n, s, b in sale.answers if n in down} == {"unavailable"}
    for server in servers:
        status, page = get(server, f"/products/{world.product_id}")
        assert status == 503 and "Please try again in a minute." in page

    private_postgres.start()
    # everyone who has not got an answer yet presses "buy" (again), the rest of the crowd with them
    unanswered = [n for n in range(BUYERS) if n >= IN_FLIGHT + len(down) or
                  all(s == 503 for m, s, _ in sale.answers if m == n)]
    all_at_once(unanswered, sale.buy_until_answered)

    statuses = sale.statuses()
    assert set(statuses) <= {201, 409, 503}, (statuses, servers[0].log_text()[-3000:])  # never a 500
    assert all(b["error"]["code"] == "insufficient_stock" for n, s, b in sale.answers if s == 409)
    sold_after_restart = [b["id"] for n, s, b in sale.answers if s == 201 and n in unanswered]
    assert sold_after_restart, "no checkout succeeded after PostgreSQL came back"
    with private_postgres.app.app_context():
        db.session.expire_all()
        stock_left = db.session.get(Product, world.product_id).stock
        held = units_held(world.product_id)
        checkout_ids = set(db.session.scalars(select(Checkout.id)))
        assert stock_left == 0  # sold out in the end: the buyers outnumber the units
        assert held["in_lines"] + stock_left == STOCK  # no unit sold twice, none lost
        assert held["held_by_buyers"] == held["in_lines"] == held["checkouts"]
        assert {b["id"] for n, s, b in sale.answers if s == 201} <= checkout_ids
        assert money_taken() == money_before
        db.session.remove()
    for server in servers:  # both processes serve pages again, without a restart
        assert get(server, "/readyz")[0] == 200
        assert get(server, f"/products/{world.product_id}")[0] == 200
