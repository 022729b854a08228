"""Redis stopped in the middle of a live show, then started again: each process's room
keeps working on its own (and says so in its log), and once Redis is back the viewers of
the other process get what they missed, in order, with no reconnect and no new event.

The processes use a Redis server of their own (redis-server from Debian, on a free
port), since this test stops it; the shared one of TEST_REDIS_URL stays untouched.
"""
import shutil
import subprocess

import pytest
import redis

from tests.multiprocess.conftest import free_port, wait_until
from tests.multiprocess.sse import EventStream
from tests.multiprocess.test_live_room import is_state, live_show, post


class RedisServer:
    def __init__(self, exe, port, folder):
        self.exe, self.port, self.folder, self.popen = exe, port, folder, None
        self.url = f"redis://127.0.0.1:{port}/0"

    def start(self):
        log = open(self.folder / "redis.log", "ab")
        self.popen = subprocess.Popen([self.exe, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                       "--appendonly", "no", "--dir", str(self.folder)], stdout=log,
                                      stderr=subprocess.STDOUT)
        log.close()
        wait_until(self._pings, 30, f"redis-server on port {self.port}")

    def _pings(self):
        try:
            return redis.Redis(port=self.port, socket_timeout=1, socket_connect_timeout=1).ping()
        except redis.RedisError:
            return False

    def stop(self):
        if self.popen and self.popen.poll() is None:
            self.popen.terminate()
            self.popen.wait(30)


@pytest.fixture
def own_redis(tmp_path, server_env):
    exe = shutil.which("redis-server")
    if exe is None:
        pytest.skip("redis-server is not installed (apt-get install -y redis-server)")
    server = RedisServer(exe, free_port(), tmp_path)
    server.start()
    yield server
    server.stop()


def test_a_room_survives_redis_going_away_and_catches_up_when_it_is_back(app, make, server_env, start_gunicorn,
                                                                         own_redis):
    env = {**server_env, "REDIS_URL": own_redis.url}
    far, near = start_gunicorn("gunicorn-far", env), start_gunicorn("gunicorn-near", env)
    live = live_show(make)
    pin_path = f"/api/v1/livestreams/{live.show_id}/pin"

    def pin():
        status, body = post(near, pin_path, {"product_id": live.product_id}, live.host_token)
        assert status == 200, body

    with EventStream(far.url, live.events, source="127.4.1.1") as far_viewer, \
            EventStream(near.url, live.events, source="127.4.1.2") as near_viewer:
        far_viewer.wait_for(is_state, 60, "the room's state")
        near_viewer.wait_for(is_state, 60, "the room's state")
        pin()
        first = far_viewer.wait_for(lambda e: e.type == "pin", 15, "the first pin, through Redis")

        own_redis.stop()
        pin()  # the host's pin still works, and this process's viewers still get it
        during = near_viewer.wait_for(lambda e: e.type == "pin" and e.id > first.id, 15, "the pin made without Redis")
        assert "Redis unavailable" in near.log_text()

        own_redis.start()
        # no reconnecting viewer, no new event: the listener comes back by itself and the
        # far process's streams read the pin they missed from the database
        far_viewer.wait_for(lambda e: e.id == during.id, 60, "the pin missed while Redis was away")
        pin()  # and pins fan out through Redis again
        after = far_viewer.wait_for(lambda e: e.type == "pin" and e.id > during.id, 15, "a pin after Redis is back")
    far_pins = [e.id for e in far_viewer.of_type("pin")]
    assert far_pins == [first.id, during.id, after.id]  # in order, none twice, none lost
    assert "Redis listener is back" in far.log_text()
