"""How many of the benchmark database's backends wait for a lock during a sale.

A thread samples pg_stat_activity every `interval` seconds while the sale runs. A
backend waiting with wait_event_type 'Lock' is queued behind another transaction,
here: behind the one holding the product's row between its guarded UPDATE and its
COMMIT. Many waiters while the stock lasts mean the sale runs at the pace of that
window, not at the pace of the CPUs.
"""
import threading
import time

import psycopg

from .seed import libpq_url

QUERY = ("SELECT count(*) FILTER (WHERE wait_event_type = 'Lock'), count(*) FILTER (WHERE state = 'active') "
         "FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")


class LockSampler:
    def __init__(self, url, interval=0.05):
        self.url, self.interval = libpq_url(url), interval
        self.samples = []  #: (perf_counter, backends waiting for a lock, active backends)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(10)

    def _run(self):
        with psycopg.connect(self.url, autocommit=True) as conn:
            while not self._stop.is_set():
                waiting, active = conn.execute(QUERY).fetchone()
                self.samples.append((time.perf_counter(), waiting, active))
                self._stop.wait(self.interval)

    def mean_waiting(self, start, end) -> float:
        """Mean number of backends waiting for a lock between two perf_counter() times."""
        inside = [w for t, w, _ in self.samples if start <= t <= end]
        return sum(inside) / len(inside) if inside else float("nan")


class NoLockSampler:
    """SQLite has no pg_stat_activity (its writers queue inside the gunicorn workers, in
    the busy handler): nothing is sampled and every mean is NaN, reported as n/a."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass

    def mean_waiting(self, start, end) -> float:
        return float("nan")
