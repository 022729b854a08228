"""Redis stopped during a live show, then started again, under two gunicorn processes
on a Redis server of the test's own.

tests/multiprocess/test_redis_outage.py follows the room's events through the outage
(pins fan out within each process, the other process's viewers catch up from the
database once Redis is back, in order). This test covers the rest of the site meanwhile:
viewers are told that live updates are delayed (and told again when they are not),
pages (whose shared cache lives in Redis) still load, buying in the room works, rate
limits still hold (counted in each process), an action that must queue a job is a clear
503 and not a 500, /readyz says what is down, and when Redis is back everything uses it
again without a server restart.
"""
import http.client
import json

from marketplace.auth.services import issue_api_token
from marketplace.extensions import db
from tests.conftest import PASSWORD
from tests.multiprocess.sse import EventStream
from tests.multiprocess.test_live_room import is_state, live_show, post

LOGINS_PER_MINUTE = 10  #: ProductionConfig.LOGIN_RATE_LIMIT's first limit


def get(server, path, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.getheader("X-Page-Cache"), response.read().decode("utf-8", "replace")
    finally:
        conn.close()


def test_the_site_carries_on_without_redis_and_uses_it_again_when_it_is_back(app, make, server_env, start_gunicorn,
                                                                              own_redis):
    env = {**server_env, "REDIS_URL": own_redis.url, "PAGE_CACHE_SECONDS": "60"}
    far, near = start_gunicorn("gunicorn-far", env), start_gunicorn("gunicorn-near", env)
    live = live_show(make, quota=5)
    buyers = [make.user() for _ in range(3)]
    buyer_tokens = [issue_api_token(buyer)[0] for buyer in buyers]
    staff_token = issue_api_token(make.staff())[0]
    db.session.commit()
    product_page, room_page = f"/products/{live.product_id}", f"/shows/{live.show_id}"
    buy = {"items": [{"product_id": live.product_id, "quantity": 1, "livestream_id": live.show_id}],
           "shipping_address": {"name": "Li Wei", "phone": "13800138000", "province": "Beijing",
                                "city": "Beijing", "address": "12 Chaoyang Road, Building 3"}}

    assert get(far, product_page)[:2] == (200, "miss")
    assert get(near, product_page)[:2] == (200, "hit")  # the page cache is shared through Redis

    with EventStream(far.url, live.events, source="127.4.2.1") as far_viewer, \
            EventStream(near.url, live.events, source="127.4.2.2") as near_viewer:
        far_viewer.wait_for(is_state, 60, "the room's state")
        near_viewer.wait_for(is_state, 60, "the room's state")
        own_redis.stop()
        # each process tells its viewers that the room may lag (the page shows a notice) ...
        for viewer in (far_viewer, near_viewer):
            viewer.wait_for(lambda e: e.type == "connection" and e.data == {"state": "delayed"}, 30,
                            "the notice that live updates are delayed")

        for server in (far, near):  # the storefront (uncached) and the room still load
            for path in ("/", product_page):
                assert get(server, path)[:2] == (200, "miss"), (server.name, path)
            assert get(server, room_page)[0] == 200
        status, _, body = get(near, "/readyz")  # and readiness tells the operator what is down
        assert status == 503 and json.loads(body)["redis"] == "down"

        # buying in the room works in both processes; this process's viewers see the stock go down
        assert post(near, "/api/v1/checkouts", buy, buyer_tokens[0], source="127.4.3.1")[0] == 201
        assert post(far, "/api/v1/checkouts", buy, buyer_tokens[1], source="127.4.3.2")[0] == 201
        near_viewer.wait_for(lambda e: e.type == "stock" and e.data["remaining"] == 4, 15, "the stock event")

        # rate limits still hold, counted in the process: the login limit stops the 11th try
        login = {"email": buyers[2].email, "password": PASSWORD}
        statuses = [post(near, "/api/v1/auth/tokens", login, "", source="127.4.4.1")[0]
                    for _ in range(LOGINS_PER_MINUTE + 1)]
        assert statuses == [201] * LOGINS_PER_MINUTE + [429]

        # a job cannot be queued without Redis: a clear "try again", not a 500
        status, body = post(near, "/api/v1/monitoring/scan", {}, staff_token)
        assert status == 503 and body["error"]["code"] == "unavailable", body
        assert "try again" in body["error"]["message"]

        own_redis.start()
        for viewer in (far_viewer, near_viewer):  # ... and takes it back when Redis is there again
            viewer.wait_for(lambda e: e.type == "connection" and e.data == {"state": "live"}, 60,
                            "the notice taken back")
        # no restart: pins reach the other process's viewers through Redis again ...
        assert post(near, f"/api/v1/livestreams/{live.show_id}/pin", {"product_id": live.product_id},
                    live.host_token)[0] == 200
        far_viewer.wait_for(lambda e: e.type == "pin", 60, "a pin through Redis after it came back")
    # ... jobs are queued again, readiness is back, and pages are shared through the cache again
    status, body = post(near, "/api/v1/monitoring/scan", {}, staff_token)
    assert status == 202, body
    assert get(far, "/readyz")[0] == 200
    assert get(far, "/")[:2] == (200, "miss")
    assert get(near, "/")[:2] == (200, "hit")
