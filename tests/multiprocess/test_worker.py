"""Production layout, the jobs part: two gunicorn processes and a `flask worker`
process sharing the database and Redis. A monitoring scan queued through the API of
one process is run by the worker, and its new case is visible through the other.

Self-contained (its own fixtures; tests/jobs/servers.py starts the processes).
Needs TEST_REDIS_URL; runs on the suite's database (PostgreSQL with TEST_DATABASE_URL).
"""
import os
import signal
import subprocess
import sys

import pytest
import requests
from redis import Redis
from rq import Worker
from rq.job import Job

from marketplace.auth.services import issue_api_token
from marketplace.extensions import db
from tests.jobs.servers import ROOT, app_environment, clear_job_keys, gunicorns, wait_until
from tests.monitoring.test_records import income_drop, world  # noqa: F401 - the households and staff

REDIS_URL = os.environ.get("TEST_REDIS_URL")


@pytest.fixture
def redis_client():
    if not REDIS_URL:
        pytest.skip("needs TEST_REDIS_URL (e.g. redis://127.0.0.1:6379/0): the processes share Redis")
    client = Redis.from_url(REDIS_URL)
    clear_job_keys(client)
    yield client
    clear_job_keys(client)
    client.close()


@pytest.fixture
def cluster(app, _schema, tmp_path, redis_client):
    """Two web processes and one worker on the test database and Redis; yields the web
    URLs once the worker has registered with rq."""
    env = app_environment(_schema, tmp_path, REDIS_URL=REDIS_URL, SECRET_KEY=app.config["SECRET_KEY"])
    with gunicorns(env, tmp_path) as urls, open(tmp_path / "worker.log", "wb") as log:
        worker = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "worker"], cwd=ROOT, env=env,
                                  stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_until(lambda: _worker_up(worker, redis_client), seconds=120,
                       what=f"flask worker (log: {tmp_path / 'worker.log'})")
            yield urls
        finally:
            worker.send_signal(signal.SIGTERM)  # warm shutdown: the current job finishes
            try:
                worker.wait(timeout=60)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()


def _worker_up(process, client) -> bool:
    if process.poll() is not None:
        raise AssertionError(f"flask worker exited with {process.returncode}")
    return bool(Worker.all(connection=client))


def test_a_scan_queued_through_one_process_is_run_by_the_worker_and_seen_through_the_other(
        app, world, cluster, redis_client):  # noqa: F811 - world is the fixture imported above
    income_drop(world.staff, world.h)
    raw_token, _ = issue_api_token(world.staff)
    db.session.commit()
    auth = {"Authorization": f"Bearer {raw_token}"}
    first, second = cluster

    def open_cases():
        response = requests.get(f"{second}/api/v1/monitoring/cases", params={"status": "open"}, headers=auth,
                                timeout=10)
        assert response.status_code == 200, response.text
        return response.json()["items"]

    assert open_cases() == []
    queued = requests.post(f"{first}/api/v1/monitoring/scan", headers=auth, timeout=30)
    assert queued.status_code == 202, queued.text
    job_id = queued.json()["job_id"]

    wait_until(lambda: open_cases(), seconds=120, what="the worker to open the case")
    assert [case["household_id"] for case in open_cases()] == [world.h.id]
    job = Job.fetch(job_id, connection=redis_client)
    assert job.get_status() == "finished"
    assert job.return_value() == {"households": 2, "opened": 1, "already_open": 0}
