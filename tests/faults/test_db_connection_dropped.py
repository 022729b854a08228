"""The database connection dropped in the middle of a request: PostgreSQL ends the
request's backend (pg_terminate_backend, what a failover, an idle-connection killer or a
network cut does to it) while the request waits inside its transaction.

The user gets a clear 503 ("try again", JSON error or page), nothing of the half-done
transaction is kept, and the next request works in the same server, on connections the
pool checks before use (pool_pre_ping) instead of the dead ones.
"""
import re
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import create_engine, select, text

from marketplace.auth.services import issue_api_token
from marketplace.catalog.models import Product
from marketplace.extensions import db
from tests.conftest import PASSWORD, PG_URL, Factory
from tests.faults.helpers import money_taken, money_world, units_held
from tests.multiprocess.conftest import wait_until
from tests.orders.helpers import ADDRESS

pytestmark = pytest.mark.skipif(not (PG_URL or "").startswith("postgresql"),
                                reason="needs TEST_DATABASE_URL=postgresql://...: it ends PostgreSQL backends")


def end_backends_waiting_on_a_lock(conn) -> int:
    """Terminate every backend of this database that waits on a lock, i.e. the request's."""
    waiting = text("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                   "AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'")
    pids = wait_until(lambda: conn.execute(waiting).scalars().all(), 30, "the request to wait on the lock")
    for pid in pids:
        conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    return len(pids)


def end_other_backends(conn, keep: int) -> None:
    """Every other connection to this database (the servers' pools) dies too, but `keep`."""
    conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
                      "AND pid NOT IN (pg_backend_pid(), :keep) AND backend_type = 'client backend'"),
                 {"keep": keep})


def csrf_token(html: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


def in_background(call):
    pool = ThreadPoolExecutor(max_workers=1)
    future = pool.submit(call)
    pool.shutdown(wait=False)
    return future


def test_a_checkout_whose_connection_drops_gets_a_clear_503_and_leaves_nothing_behind(live_server):
    url = live_server.config["LIVE_URL"]
    with live_server.app_context():
        make = Factory()
        world = money_world(make, stock=5)
        raw_token, _ = issue_api_token(make.user())
        db.session.commit()
        before, units_before = money_taken(), units_held(world.product_id)
        db.session.remove()
    auth = {"Authorization": f"Bearer {raw_token}"}
    body = {"items": [{"product_id": world.product_id, "quantity": 2}], "shipping_address": ADDRESS}

    def checkout():
        return requests.post(f"{url}/api/v1/checkouts", json=body, headers=auth, timeout=60)

    engine = create_engine(live_server.config["SQLALCHEMY_DATABASE_URI"])
    with engine.connect() as conn:
        # the product's row is locked, so the checkout stops in the middle of its
        # transaction (its per-buyer count written, the stock not yet taken)
        conn.execute(select(Product.id).where(Product.id == world.product_id).with_for_update())
        holder = conn.execute(text("SELECT pg_backend_pid()")).scalar()
        pending = in_background(checkout)
        with engine.connect() as killer:
            assert end_backends_waiting_on_a_lock(killer) == 1
            # the pooled connections die with it: the next request must not use them
            end_other_backends(killer, keep=holder)
            killer.commit()
        dropped = pending.result(timeout=60)
        conn.rollback()
    engine.dispose()

    assert dropped.status_code == 503, dropped.text
    assert dropped.headers["Retry-After"]
    assert dropped.json()["error"]["code"] == "unavailable"
    assert "try again" in dropped.json()["error"]["message"]
    with live_server.app_context():
        assert units_held(world.product_id) == units_before  # the half-done checkout left nothing
        assert db.session.get(Product, world.product_id).stock == 5
        assert money_taken() == before
        db.session.remove()

    again = checkout()  # the same server, straight away: new connections, no restart
    assert again.status_code == 201, again.text
    with live_server.app_context():
        assert db.session.get(Product, world.product_id).stock == 3
        assert money_taken() == before
        db.session.remove()


def test_a_page_whose_connection_drops_says_so_and_the_next_page_loads(live_server):
    url = live_server.config["LIVE_URL"]
    with live_server.app_context():
        world = money_world(Factory())
        db.session.remove()
    engine = create_engine(live_server.config["SQLALCHEMY_DATABASE_URI"])
    with engine.connect() as conn:
        # an exclusive lock on the products table stops even the catalog page's reads
        conn.execute(text("LOCK TABLE products IN ACCESS EXCLUSIVE MODE"))
        pending = in_background(lambda: requests.get(f"{url}/products/{world.product_id}", timeout=60))
        with engine.connect() as killer:
            assert end_backends_waiting_on_a_lock(killer) == 1
            killer.commit()
        dropped = pending.result(timeout=60)
        conn.rollback()
    engine.dispose()

    assert dropped.status_code == 503
    assert "text/html" in dropped.headers["Content-Type"]
    assert "We cannot reach our database right now. Please try again in a minute." in dropped.text
    assert "Traceback" not in dropped.text

    page = requests.get(f"{url}/products/{world.product_id}", timeout=60)
    assert page.status_code == 200


def test_a_signed_in_page_whose_connection_drops_while_loading_the_user_says_so(live_server):
    """The user is loaded from the database too: when that is what failed, the error page
    must not try again (it would wait on the same lock, or fail the same way)."""
    url = live_server.config["LIVE_URL"]
    with live_server.app_context():
        buyer = Factory().user()
        email = buyer.email
        db.session.remove()
    browser = requests.Session()
    token = csrf_token(browser.get(f"{url}/login", timeout=30).text)
    signed_in = browser.post(f"{url}/login", data={"email": email, "password": PASSWORD, "csrf_token": token},
                             allow_redirects=False, timeout=30)
    assert signed_in.status_code == 302
    engine = create_engine(live_server.config["SQLALCHEMY_DATABASE_URI"])
    with engine.connect() as conn:
        conn.execute(text("LOCK TABLE user_sessions IN ACCESS EXCLUSIVE MODE"))  # where logins are looked up
        pending = in_background(lambda: browser.get(f"{url}/orders", timeout=60))
        with engine.connect() as killer:
            assert end_backends_waiting_on_a_lock(killer) == 1
            killer.commit()
        dropped = pending.result(timeout=60)  # answered while the lock is still held
        conn.rollback()
    engine.dispose()

    assert dropped.status_code == 503
    assert "We cannot reach our database right now." in dropped.text
    page = browser.get(f"{url}/orders", timeout=60)  # still signed in: the session was never touched
    assert page.status_code == 200 and "/logout" in page.text
