"""Run the app as production does, in gunicorn subprocesses on free loopback ports."""
import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager

import requests

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


#: Redis keys the job tests may leave behind: rq's, and the jobs' locks
JOB_KEY_PATTERNS = ("rq:*", "marketplace:jobs:*")


def clear_job_keys(client) -> None:
    for pattern in JOB_KEY_PATTERNS:
        for key in client.scan_iter(pattern):
            client.delete(key)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(check, seconds=30.0, what="condition"):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {seconds:.0f} s waiting for {what}")


def app_environment(database_url: str, tmp_path, **extra) -> dict:
    """The production configuration on the test database. Pass SECRET_KEY=the test app's
    when the processes must read what the test wrote with it (identity numbers)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEST_", "PYTEST_"))}
    env.update(MARKETPLACE_CONFIG="production", SECRET_KEY="multi-process-test-secret", DATABASE_URL=database_url,
               UPLOAD_FOLDER=str(tmp_path / "uploads"), BASE_URL="http://127.0.0.1")
    env.pop("REDIS_URL", None)
    env.update({k: v for k, v in extra.items() if v is not None})
    return env


@contextmanager
def gunicorns(env: dict, tmp_path, count: int = 2):
    """`count` gunicorns (1 gthread worker each) serving wsgi:app, started together;
    yields their base URLs. Their output goes to tmp_path/gunicorn-N.log."""
    config = tmp_path / "empty_gunicorn_conf.py"
    config.write_text("# the repository's own gunicorn config is not under test here\n")
    servers = [_start(env, config, tmp_path / f"gunicorn-{n}.log") for n in range(count)]
    try:
        for url, process, log_path in servers:
            # a generous deadline: booting the app takes seconds, many more on a busy machine
            wait_until(lambda: _healthy(url, process), seconds=120, what=f"gunicorn on {url} (log: {log_path})")
        yield [url for url, _, _ in servers]
    finally:
        for _, process, _ in servers:
            process.terminate()
        for _, process, _ in servers:
            process.wait(timeout=30)


def _start(env, config, log_path):
    port = free_port()
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(config), "-w", "1", "-k", "gthread", "--threads", "2",
             "--no-control-socket",  # one shared path per user by default: concurrent servers would fight over it
             "-b", f"127.0.0.1:{port}", "wsgi:app"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    return f"http://127.0.0.1:{port}", process, log_path


def _healthy(url, process) -> bool:
    if process.poll() is not None:
        raise AssertionError(f"gunicorn exited with {process.returncode}")
    try:
        return requests.get(url + "/healthz", timeout=5).status_code == 200
    except (requests.ConnectionError, requests.Timeout):  # not listening yet, or still loading
        return False
