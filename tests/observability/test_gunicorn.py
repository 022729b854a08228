"""gunicorn.conf.py: the two services' settings, and a real gunicorn with two workers whose
metrics add up across processes (even across a worker's death) and whose logs are JSON."""
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time

import psutil
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KEYS = ("worker_class", "workers", "bind", "max_requests", "max_requests_jitter", "graceful_timeout", "timeout",
        "preload_app", "forwarded_allow_ips", "control_socket_disable")


def effective_config(tmp_path, **env) -> dict:
    """What gunicorn itself makes of the file (gunicorn --print-config, which also loads the app)."""
    full = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "MARKETPLACE_CONFIG": "demo",
            "DATABASE_URL": f"sqlite:///{tmp_path}/unused.db", **env}
    # a trivial app to load after printing: the settings are the file's all the same
    out = subprocess.run([sys.executable, "-m", "gunicorn", "--print-config", "os:getcwd"], cwd=ROOT, env=full,
                         capture_output=True, text=True, timeout=60, check=True).stdout
    settings = (line.split(" = ", 1) for line in out.splitlines() if " = " in line)
    return {name.strip(): value for name, value in settings if name.strip() in KEYS}


def test_pages_service_is_gthread_and_recycles_workers(tmp_path):
    config = effective_config(tmp_path, GUNICORN_ROLE="pages", WEB_CONCURRENCY="3")
    assert config["worker_class"] == "gthread" and config["workers"] == "3"
    assert config["bind"] == "['127.0.0.1:8000']" and config["preload_app"] == "False"
    assert config["max_requests"] == "10000" and config["max_requests_jitter"] == "1000"
    assert config["graceful_timeout"] == "30"
    assert config["control_socket_disable"] == "True"


def test_events_service_is_gevent_and_never_recycles_a_worker_full_of_viewers(tmp_path):
    config = effective_config(tmp_path, GUNICORN_ROLE="events", FORWARDED_ALLOW_IPS="10.0.0.2")
    assert config["worker_class"] == "gevent" and config["bind"] == "['127.0.0.1:8001']"
    assert config["max_requests"] == "0" and config["graceful_timeout"] == "10"
    assert config["forwarded_allow_ips"] == "['10.0.0.2']"


def test_an_unknown_role_stops_gunicorn_with_a_clear_message(tmp_path):
    with pytest.raises(subprocess.CalledProcessError) as failed:
        effective_config(tmp_path, GUNICORN_ROLE="everything")
    assert "GUNICORN_ROLE must be one of pages, events, all" in failed.value.stderr


def test_a_new_master_wipes_the_samples_of_a_previous_run(tmp_path):
    stale = tmp_path / "counter_4242.db"
    stale.write_bytes(b"samples of a worker of the previous run")
    keep = tmp_path / "notes.txt"
    keep.write_text("not ours")
    subprocess.run([sys.executable, "-c", "import runpy; runpy.run_path('gunicorn.conf.py')['on_starting'](None)"],
                   cwd=ROOT, env={**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}, check=True, timeout=60)
    assert not stale.exists() and keep.exists()


# --- a real gunicorn ----------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port, path, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read().decode()
    finally:
        conn.close()


def wait_until(condition, seconds=90, what="condition"):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def catalog_requests(port) -> float:
    """Catalog pages served: rendered by Flask (the histogram) or from the page cache."""
    _, _, text = get(port, "/metrics")
    rendered = next((ln for ln in text.splitlines() if ln.startswith("marketplace_http_request_duration_seconds_count")
                     and 'endpoint="catalog.catalog"' in ln and 'status="200"' in ln), None)
    hits = next(ln for ln in text.splitlines() if ln.startswith("marketplace_page_cache_hits_total "))
    return (float(rendered.rsplit(" ", 1)[1]) if rendered else 0.0) + float(hits.rsplit(" ", 1)[1])


def workers_of(master) -> set[int]:
    return {child.pid for child in master.children()}


@pytest.fixture(scope="module")
def served(_schema, tmp_path_factory):
    """`gunicorn` (the file's settings, the file's app) with two pages workers on the test
    database, for this module's tests in order; the last one stops it."""
    tmp_path = tmp_path_factory.mktemp("gunicorn")
    port = _free_port()
    env = {**os.environ, "MARKETPLACE_CONFIG": "production", "SECRET_KEY": "x" * 40, "DATABASE_URL": _schema,
           "WEB_CONCURRENCY": "2", "GUNICORN_BIND": f"127.0.0.1:{port}", "TMPDIR": str(tmp_path)}
    for name in ("REDIS_URL", "PROMETHEUS_MULTIPROC_DIR"):
        env.pop(name, None)
    log = open(tmp_path / "stderr.log", "w+")
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=log)
    master = psutil.Process(proc.pid)
    try:
        wait_until(lambda: get(port, "/healthz")[0] == 200 and len(workers_of(master)) == 2, what="gunicorn")
        [metrics_dir] = tmp_path.glob("marketplace-pages-metrics-*")  # made by the master for its workers
        yield port, proc, master, log, metrics_dir
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(60)
        log.close()


def test_metrics_add_up_over_workers_even_after_they_die(served):
    port, _proc, master, _log, _metrics_dir = served
    for n in range(30):
        assert get(port, "/products")[0] == 200
    assert catalog_requests(port) == 30

    old = workers_of(master)
    for pid in old:
        os.kill(pid, signal.SIGTERM)  # gunicorn replaces them
    wait_until(lambda: len(workers_of(master)) == 2 and not workers_of(master) & old
               and get(port, "/healthz")[0] == 200, what="new workers")
    assert catalog_requests(port) == 30  # counted by processes that are gone


def test_request_ids_and_json_logs_and_a_graceful_stop(served):
    port, proc, _master, log, metrics_dir = served
    status, headers, _ = get(port, "/products", headers={"X-Request-ID": "lb-7f3a"})
    assert status == 200 and headers["X-Request-ID"] == "lb-7f3a"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(60) == 0
    assert not metrics_dir.exists()  # the master cleans up after itself
    log.seek(0)
    lines = [json.loads(line) for line in log.read().splitlines() if line.strip()]  # every line is JSON
    access = next(line for line in lines if line.get("request_id") == "lb-7f3a")
    assert access["path"] == "/products" and access["status"] == 200 and access["logger"] == "marketplace.access"
    assert any(line["logger"] == "gunicorn.error" and "Shutting down" in line["message"] for line in lines)
