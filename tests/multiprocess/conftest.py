"""Real server processes for the multi-process tests: the production way, for real.

Every test here is skipped, saying why, unless TEST_DATABASE_URL points at PostgreSQL and
TEST_REDIS_URL at a Redis database (the processes share both; SQLite is not shared between
processes). The Redis database of TEST_REDIS_URL is emptied (FLUSHDB) before each test
that uses `server_env`: rate-limit counters and queues of an earlier test must not leak in.

Fixtures
--------
`server_env` (dict)
    The environment of a production process on the test database: MARKETPLACE_CONFIG=production,
    SECRET_KEY (the test app's, so both sides read what the other wrote), DATABASE_URL,
    REDIS_URL, card payments through Stripe's API served by localstripe (the production
    config refuses the demo provider). Depends on `app`, so the tables are empty and the
    test body writes with `make`, `db` and `issue_api_token` as usual.

`start_process(name, argv, env=None, ready=None, seconds=120)` (factory)
    Start any command (e.g. ``[sys.executable, "-m", "flask", "--app", "wsgi", "worker"]``)
    in the repository root with `server_env` (or `env`), its output in
    ``tmp_path/<name>.log``; waits until ``ready(process)`` is true (polling with a
    deadline; a process that exits fails the test). Returns a `Process`
    (``.popen``, ``.log_path``, ``.log_text()``, ``.stop()``); every one is stopped at teardown
    (SIGTERM, then SIGKILL after 20 s).

`start_gunicorn(name, env=None)` (factory)
    gunicorn with the repository's gunicorn.conf.py, GUNICORN_ROLE=all (one gevent pool for
    pages and event streams), one worker, on a free loopback port; ready once /readyz
    answers 200 (database and Redis up). Returns a `Server` (a `Process` with ``.url``, ``.port``).

`gunicorn_pair` ((Server, Server))
    Two such processes on different ports, sharing the database and Redis.

A job test (RQ) uses them like this::

    def test_a_job_queued_by_one_process_runs_in_the_worker(app, gunicorn_pair, start_process, ...):
        first, second = gunicorn_pair
        start_process("worker", [sys.executable, "-m", "flask", "--app", "wsgi", "worker"],
                      ready=lambda p: rq_worker_registered())
        ... POST through first.url, wait (with a deadline) for the effect through second.url
"""
import http.client
import os
import signal
import socket
import subprocess
import sys
import time

import pytest
import redis

from tests.payments.conftest import localstripe  # noqa: F401 - the fixture: Stripe's API on loopback

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "")
STRIPE_KEY = "sk_test_multiprocess"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(check, seconds, what):
    """Poll `check` until it returns something true; fail the test after `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {seconds:.0f} s waiting for {what}")
        time.sleep(0.1)


class Process:
    def __init__(self, name, popen, log_path):
        self.name, self.popen, self.log_path = name, popen, log_path

    def log_text(self) -> str:
        with open(self.log_path, encoding="utf-8", errors="replace") as fh:
            return fh.read()

    def stop(self):
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(20)
            except subprocess.TimeoutExpired:  # an event stream never ends by itself
                self.popen.kill()
                self.popen.wait()


class Server(Process):
    def __init__(self, name, popen, log_path, port):
        super().__init__(name, popen, log_path)
        self.port, self.url = port, f"http://127.0.0.1:{port}"


@pytest.fixture
def server_env(app, _schema, localstripe):
    if not DATABASE_URL.startswith("postgresql"):
        pytest.skip("needs TEST_DATABASE_URL=postgresql://...: the server processes share one PostgreSQL database")
    if not REDIS_URL:
        pytest.skip("needs TEST_REDIS_URL (e.g. redis://127.0.0.1:6379/0): the server processes share Redis")
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    client.close()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEST_", "PYTEST_"))}
    env.update(MARKETPLACE_CONFIG="production", SECRET_KEY=app.config["SECRET_KEY"], DATABASE_URL=_schema,
               REDIS_URL=REDIS_URL, STRIPE_SECRET_KEY=STRIPE_KEY, STRIPE_PUBLISHABLE_KEY="pk_test_multiprocess",
               STRIPE_API_BASE=localstripe, BASE_URL="http://127.0.0.1")
    return env


@pytest.fixture
def start_process(server_env, tmp_path):
    started = []

    def start(name, argv, env=None, ready=None, seconds=120, port=None):
        log_path = tmp_path / f"{name}.log"
        with open(log_path, "ab") as log:
            popen = subprocess.Popen(argv, cwd=ROOT, env=env or server_env, stdout=log, stderr=subprocess.STDOUT)
        process = Server(name, popen, log_path, port) if port else Process(name, popen, log_path)
        started.append(process)

        def is_ready():
            if popen.poll() is not None:
                pytest.fail(f"{name} exited with {popen.returncode}:\n{process.log_text()[-3000:]}")
            return ready is None or ready(process)

        wait_until(is_ready, seconds, f"{name} to be ready (log: {log_path})")
        return process

    yield start
    for process in reversed(started):
        process.stop()


def _answers_ready(server) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        conn.request("GET", "/readyz")
        return conn.getresponse().status == 200
    except OSError:  # not listening yet, or still loading the app
        return False
    finally:
        conn.close()


@pytest.fixture
def start_gunicorn(start_process, server_env):
    def start(name, env=None):
        port = free_port()
        argv = [sys.executable, "-m", "gunicorn", "--workers", "1", "--bind", f"127.0.0.1:{port}",
                "--graceful-timeout", "3", "wsgi:app"]
        return start_process(name, argv, env={**(env or server_env), "GUNICORN_ROLE": "all"},
                             ready=_answers_ready, port=port)
    return start


@pytest.fixture
def gunicorn_pair(start_gunicorn):
    return start_gunicorn("gunicorn-1"), start_gunicorn("gunicorn-2")
