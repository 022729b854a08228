"""The processes the live benchmark starts: gunicorn with gevent workers (the real app
and the bare yardstick, same settings), localstripe (the production config takes card
payments through Stripe; localstripe is its local stand-in), and a memory meter.

Each is a context manager that waits for readiness with a deadline and stops its
process (SIGTERM, then SIGKILL) on exit.
"""
import http.client
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import time

import psutil

from .sampler import Sampler

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ERROR_MARKS = ("Traceback", "[ERROR]", '"level": "ERROR"', '"level": "CRITICAL"', "WORKER TIMEOUT")


COMMON = ["--timeout", "60", "--graceful-timeout", "5", "--no-control-socket", "--log-level", "warning"]


def events_options(workers: int, worker_connections: int) -> list[str]:
    """The event streams' service (and the bare yardstick): gevent workers."""
    return ["--worker-class", "gevent", "--workers", str(workers), "--worker-connections", str(worker_connections),
            *COMMON]


def pages_options(workers: int, threads: int) -> list[str]:
    """Pages and the JSON API (pins, checkouts) in the production layout: gthread workers."""
    return ["--worker-class", "gthread", "--workers", str(workers), "--threads", str(threads), *COMMON]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _more_open_files():
    """In the child before exec: as many open files as the hard limit allows (one per viewer)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def http_status(port, path, timeout=5.0) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        resp.read()
        return resp.status
    finally:
        conn.close()


def wait_ready(port, path, proc, log_path, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}; see {log_path}")
        try:
            if http_status(port, path) == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"no 200 from {path} within {timeout:.0f} s; see {log_path}")


def stop(proc, grace=10.0):
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class Gunicorn:
    """gunicorn serving `app_spec` on a free loopback port."""

    def __init__(self, name, app_spec, env, logdir, options, ready_path="/healthz"):
        self.name, self.port, self.ready_path, self.options = name, free_port(), ready_path, options
        self.log_path = os.path.join(logdir, re.sub(r"[^\w.-]+", "_", name) + ".log")
        self.cmd = [sys.executable, "-m", "gunicorn", *options, "--bind", f"127.0.0.1:{self.port}", app_spec]
        self.env, self.proc = {**os.environ, **env}, None

    def __enter__(self):
        with open(self.log_path, "ab") as log:  # gunicorn's and the app's log lines (stderr)
            self.proc = subprocess.Popen(self.cmd, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                         preexec_fn=_more_open_files)
        try:
            wait_ready(self.port, self.ready_path, self.proc, self.log_path)
        except BaseException:
            stop(self.proc)
            raise
        return self

    def __exit__(self, *exc):
        stop(self.proc)

    def workers(self) -> list[psutil.Process]:
        try:
            return psutil.Process(self.proc.pid).children()
        except psutil.NoSuchProcess:
            return []

    def pids(self) -> list[int]:
        return [self.proc.pid] + [w.pid for w in self.workers()]

    def connections_per_worker(self) -> dict[int, int]:
        """Established client connections each worker holds on our port."""
        out = {}
        for worker in self.workers():
            try:
                conns = worker.net_connections(kind="tcp")
            except psutil.Error:
                continue
            out[worker.pid] = sum(1 for c in conns if c.status == psutil.CONN_ESTABLISHED and c.laddr
                                  and c.laddr.port == self.port)
        return out

    def error_lines(self) -> list[str]:
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as fh:
                return [ln.strip() for ln in fh if any(m in ln for m in ERROR_MARKS)]
        except OSError:
            return []


class LocalStripe:
    """localstripe (pip: localstripe) on a free loopback port."""

    def __init__(self, logdir):
        self.port, self.proc = free_port(), None
        self.log_path = os.path.join(logdir, "localstripe.log")

    @property
    def base(self):
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self):
        exe = os.path.join(os.path.dirname(sys.executable), "localstripe")
        exe = exe if os.path.exists(exe) else shutil.which("localstripe")
        if exe is None:
            raise RuntimeError("localstripe is not installed (pip install localstripe==1.15.10)")
        log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([exe, "--port", str(self.port), "--from-scratch"], stdout=log,
                                     stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"localstripe exited; see {self.log_path}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                time.sleep(0.2)
        stop(self.proc)
        raise RuntimeError("localstripe did not start")

    def __exit__(self, *exc):
        stop(self.proc)


def peak_rss_kb(pid) -> int:
    """The process's peak resident set size so far (VmHWM), in KiB; 0 if it is gone."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            return next(int(ln.split()[1]) for ln in fh if ln.startswith("VmHWM:"))
    except (OSError, StopIteration):
        return 0


class MemoryMeter(Sampler):
    """Samples the summed RSS of a changing set of processes (every 0.5 s) and keeps
    the highest sum: the peak total, which per-process peaks (VmHWM) cannot give."""

    def __init__(self, pids_of):
        super().__init__()
        self.pids_of, self.peak_total_kb = pids_of, 0

    def sample(self):
        total = 0
        for pid in self.pids_of():
            try:
                total += psutil.Process(pid).memory_info().rss // 1024
            except psutil.Error:
                pass
        self.peak_total_kb = max(self.peak_total_kb, total)
