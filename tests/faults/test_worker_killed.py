"""A worker killed in the middle of a job (the OOM killer, a host lost, `kill -9`): the
job is not lost, it runs again, and its effect is applied exactly once.

The job is the real reservation expiry (an overdue unpaid checkout is cancelled and
its units go back on sale) wrapped in a stall the test kills the worker in
(stalling_job.py). Two ways to die:

* only the work horse (the forked child running the job) is killed, inside the job's
  open transaction: the worker sees it die, records the failure and rq's retry policy
  runs the job again 10 s later; the killed transaction left nothing behind.
* the whole worker (main process, work horse and rq's scheduler process) is killed
  after the job committed its work but before rq heard it finished: the job stays
  "started" until its heartbeat runs out (about 90 s); a worker started after that
  cleans rq's StartedJobRegistry on start (and every 10 minutes; so does the admin's
  /admin/jobs page) and retries the abandoned job, which finds nothing left to do:
  idempotent. (Killing the main process alone would leave rq's scheduler process
  running on its own: kill a worker's whole process group or cgroup, as systemd does.)
"""
import os
import signal
import sys
from datetime import timedelta

import pytest
from redis import Redis
from rq import Worker
from rq.job import Job
from rq.registry import StartedJobRegistry
from sqlalchemy import func, select

from marketplace.catalog.models import Product
from marketplace.core.db import utcnow
from marketplace.extensions import db
from marketplace.jobs.queue import enqueue
from marketplace.orders.checkout import WantedLine, place_checkout
from marketplace.orders.models import BuyerProductCount, Checkout, Order, OrderEvent
from tests.faults.helpers import money_taken, money_world
from tests.faults.stalling_job import expire_reservations_and_stall
from tests.multiprocess.conftest import wait_until
from tests.orders.helpers import ADDRESS

STOCK, UNITS = 10, 4
WORKER = [sys.executable, "-m", "flask", "--app", "wsgi", "worker", "--no-cron"]


@pytest.fixture
def redis_client(server_env):
    client = Redis.from_url(server_env["REDIS_URL"])  # emptied by server_env
    yield client
    client.close()


@pytest.fixture
def gate(tmp_path):
    """The stalling job's folder; "go" is put there at the end whatever happens, so no
    stalled work horse outlives the test."""
    yield tmp_path
    (tmp_path / "go").touch()


@pytest.fixture
def overdue(app, make, server_env, monkeypatch):
    """A paid order in the ledger, and an unpaid checkout of UNITS whose reservation ran
    out a minute ago; the test app queues jobs on the workers' Redis."""
    monkeypatch.setitem(app.config, "REDIS_URL", server_env["REDIS_URL"])
    world = money_world(make, stock=STOCK)
    placed = place_checkout(make.user(), [WantedLine(world.product_id, UNITS)], ADDRESS, "demo")
    placed.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    return placed.id, world.product_id


def start_worker(start_process, redis_client, name):
    def registered(process):
        return any(w.pid == process.popen.pid for w in Worker.all(connection=redis_client))
    return start_process(name, WORKER, ready=registered)


def stalled_horse(gate) -> int:
    found = wait_until(lambda: list(gate.glob("stalled-*")), 60, "the job to reach its stall")
    return int(found[0].name.split("-", 1)[1])


def children_of(pid) -> list[int]:
    """The processes whose parent is `pid` (from /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/stat") as fh:
                parent = int(fh.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):  # not a process, or gone meanwhile
            continue
        if parent == pid:
            found.append(int(entry))
    return found


def kill(pid):
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not _alive(pid), 30, f"process {pid} to die")


def _alive(pid) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (killed, not yet reaped by its parent) is dead too
    with open(f"/proc/{pid}/stat") as fh:
        return fh.read().rsplit(")", 1)[1].split()[0] != "Z"


def expired_state(checkout_id, product_id) -> dict:
    db.session.expire_all()
    order_ids = select(Order.id).where(Order.checkout_id == checkout_id)
    return {"checkout": db.session.get(Checkout, checkout_id).status.value,
            "stock": db.session.get(Product, product_id).stock,
            "held": db.session.scalar(select(func.coalesce(func.sum(BuyerProductCount.quantity), 0))
                                      .where(BuyerProductCount.product_id == product_id)),
            "cancellations": db.session.scalar(select(func.count()).select_from(OrderEvent).where(
                OrderEvent.order_id.in_(order_ids), OrderEvent.status == "cancelled"))}


PENDING = {"checkout": "pending_payment", "stock": STOCK - UNITS, "held": UNITS, "cancellations": 0}
EXPIRED_ONCE = {"checkout": "cancelled", "stock": STOCK, "held": 0, "cancellations": 1}


def finished(job_id, redis_client):
    job = Job.fetch(job_id, connection=redis_client)
    return job if job.get_status() == "finished" else None


def test_a_work_horse_killed_mid_transaction_is_retried_and_applies_its_effect_once(
        overdue, gate, redis_client, start_process):
    checkout_id, product_id = overdue
    money_before = money_taken()
    worker = start_worker(start_process, redis_client, "worker")
    job_id = enqueue(expire_reservations_and_stall, str(gate), False)["job_id"]

    kill(stalled_horse(gate))
    assert expired_state(checkout_id, product_id) == PENDING  # the killed transaction left nothing
    (gate / "go").touch()

    job = wait_until(lambda: finished(job_id, redis_client), 90, "rq's retry of the job")
    assert job.return_value() == {"expired": 1}  # the retry did the work ...
    assert expired_state(checkout_id, product_id) == EXPIRED_ONCE  # ... once
    assert money_taken() == money_before
    assert "Work-horse terminated unexpectedly" in worker.log_text()


def test_a_worker_killed_after_the_work_committed_retries_the_abandoned_job_which_changes_nothing_more(
        overdue, gate, redis_client, start_process):
    checkout_id, product_id = overdue
    money_before = money_taken()
    first = start_worker(start_process, redis_client, "worker-1")
    job_id = enqueue(expire_reservations_and_stall, str(gate), True)["job_id"]

    horse = stalled_horse(gate)
    assert expired_state(checkout_id, product_id) == EXPIRED_ONCE  # committed; rq not told yet
    children = children_of(first.popen.pid)  # the work horse, and rq's scheduler process
    assert horse in children
    kill(first.popen.pid)  # the main process first: nobody is left to see the work horse die
    first.popen.wait(10)
    for pid in children:  # then the rest (as the OOM killer or systemd kills a whole worker)
        kill(pid)
    (gate / "go").touch()
    job = Job.fetch(job_id, connection=redis_client)
    assert job.get_status() == "started"  # as far as rq knows, still running

    registry = StartedJobRegistry(job.origin, connection=redis_client)
    wait_until(lambda: registry.get_expired_job_ids(), 150, "the dead worker's heartbeat on the job to run out")
    start_worker(start_process, redis_client, "worker-2")  # cleans up abandoned jobs on start

    job = wait_until(lambda: finished(job_id, redis_client), 90, "the new worker to retry the abandoned job")
    assert job.return_value() == {"expired": 0}  # nothing left to do ...
    assert expired_state(checkout_id, product_id) == EXPIRED_ONCE  # ... and nothing done twice
    assert money_taken() == money_before
