"""Production layout, the jobs part: two gunicorn processes and a `flask worker`
process sharing PostgreSQL and Redis (fixtures: tests/multiprocess/conftest.py). A
monitoring scan queued through the API of one web process is run by the worker, and
the case it opens is visible through the other."""
import os
import sys

import requests
from redis import Redis
from rq import Worker
from rq.job import Job

from marketplace.auth.services import issue_api_token
from marketplace.extensions import db
from tests.jobs.servers import wait_until
from tests.monitoring.test_records import income_drop, world  # noqa: F401 - the households and staff


def test_a_scan_queued_through_one_process_is_run_by_the_worker_and_seen_through_the_other(
        app, world, gunicorn_pair, start_process):  # noqa: F811 - world is the fixture imported above
    first, second = gunicorn_pair
    redis_client = Redis.from_url(os.environ["TEST_REDIS_URL"])  # server_env has checked it is set
    start_process("worker", [sys.executable, "-m", "flask", "--app", "wsgi", "worker"],
                  ready=lambda process: bool(Worker.all(connection=redis_client)))
    income_drop(world.staff, world.h)
    raw_token, _ = issue_api_token(world.staff)
    db.session.commit()
    auth = {"Authorization": f"Bearer {raw_token}"}

    def open_cases():
        response = requests.get(f"{second.url}/api/v1/monitoring/cases", params={"status": "open"},
                                headers=auth, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()["items"]

    assert open_cases() == []
    queued = requests.post(f"{first.url}/api/v1/monitoring/scan", headers=auth, timeout=30)
    assert queued.status_code == 202, queued.text  # queued, not run by the web process
    job_id = queued.json()["job_id"]

    wait_until(open_cases, seconds=120, what="the worker to open the case")
    assert [case["household_id"] for case in open_cases()] == [world.h.id]
    job = Job.fetch(job_id, connection=redis_client)
    assert job.get_status() == "finished" and job.worker_name  # run by the worker process
    assert job.return_value() == {"households": 2, "opened": 1, "already_open": 0}
    redis_client.close()
