"""Facts about the machine, and how much of it other processes took during a run.

A benchmark on a shared two-core machine is only as good as its knowledge of
the neighbours. CpuMeter splits the CPU time spent during a measurement into
ours (this process, its children such as gunicorn and wrk, and the PostgreSQL
backends connected to the benchmark database) and everyone else's, so a round
that ran next to somebody's test suite shows up as such in the results.
"""
import os
import platform
import subprocess
import sys

import psycopg


def _proc_times(pid, children=False):
    """utime + stime (+ cutime + cstime) of a process, in clock ticks; 0 if gone."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    times = [int(v) for v in fields[11:15]]  # utime stime cutime cstime
    return sum(times) if children else times[0] + times[1]


def _descendants(root):
    kids, frontier = [], [root]
    while frontier:
        pid = frontier.pop()
        try:
            with open(f"/proc/{pid}/task/{pid}/children") as fh:
                found = [int(p) for p in fh.read().split()]
        except OSError:
            found = []
        kids += found
        frontier += found
    return kids


def _machine():
    with open("/proc/stat") as fh:
        values = [int(v) for v in fh.readline().split()[1:]]
    total = sum(values[:8])  # guest time is already inside user
    return total - values[3] - values[4], total  # busy, total


class CpuMeter:
    """`with meter: ...` then `meter.others` is the share of all CPUs other processes used,
    `meter.busy` the share any process used (ours and others)."""

    def __init__(self, url):
        self.url = url.replace("postgresql+psycopg://", "postgresql://", 1)
        self.others = self.ours = self.ours_seconds = self.busy = float("nan")

    def _ours(self):
        # this process with its reaped children (wrk), plus live descendants (gunicorn)
        ticks = _proc_times(os.getpid(), children=True)
        ticks += sum(_proc_times(pid) for pid in _descendants(os.getpid()))
        try:
            with psycopg.connect(self.url, connect_timeout=5) as conn:
                backends = [r[0] for r in conn.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database()")]
        except psycopg.Error:
            backends = []
        return ticks + sum(_proc_times(pid) for pid in backends)

    def __enter__(self):
        try:
            self._start = (self._ours(), *_machine())
        except OSError:
            self._start = None
        return self

    def __exit__(self, *exc):
        if self._start is None:
            return
        ours0, busy0, total0 = self._start
        ours1 = self._ours()
        busy1, total1 = _machine()
        total = max(total1 - total0, 1)
        self.ours = (ours1 - ours0) / total
        self.ours_seconds = (ours1 - ours0) / os.sysconf("SC_CLK_TCK")
        self.others = max(0.0, (busy1 - busy0) - (ours1 - ours0)) / total
        self.busy = (busy1 - busy0) / total


def wait_until_quiet(url, threshold, timeout, log=print):
    """Block until other processes use at most `threshold` of the CPUs over a 2 s
    window (our servers idle), or `timeout` seconds pass. Returns seconds waited."""
    import time

    start = time.monotonic()
    warned = False
    while True:
        with CpuMeter(url) as meter:
            time.sleep(2)
        waited = time.monotonic() - start
        if meter.others <= threshold:
            return waited
        if waited >= timeout:
            log(f"    gave up waiting after {waited:.0f} s (other processes use {meter.others:.0%})")
            return waited
        if not warned:
            log(f"    waiting for a quieter machine (other processes use {meter.others:.0%} of the CPUs) ...")
            warned = True


def facts(url):
    """nproc, CPU model, memory, OS, PostgreSQL, Python, gunicorn and wrk versions."""
    out = {"CPU cores (nproc)": str(os.cpu_count())}
    try:
        with open("/proc/cpuinfo") as fh:
            out["CPU"] = next((ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")), "?")
        with open("/proc/meminfo") as fh:
            kb = int(next(ln.split()[1] for ln in fh if ln.startswith("MemTotal")))
        out["memory"] = f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, StopIteration, ValueError):
        pass
    try:
        with open("/etc/os-release") as fh:
            out["OS"] = next(ln.split("=", 1)[1].strip().strip('"') for ln in fh if ln.startswith("PRETTY_NAME"))
    except (OSError, StopIteration):
        out["OS"] = platform.platform()
    if url.startswith("sqlite:"):  # a SQLite run: the library in this Python, not a server
        import sqlite3

        out["SQLite"] = sqlite3.sqlite_version
    else:
        with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://", 1)) as conn:
            out["PostgreSQL"] = conn.execute("SHOW server_version").fetchone()[0]
            out["PostgreSQL settings"] = ", ".join(
                f"{k}={conn.execute(f'SHOW {k}').fetchone()[0]}" for k in ("shared_buffers", "work_mem", "jit"))
    out["Python"] = platform.python_version()
    out["gunicorn"] = _first_line([sys.executable, "-m", "gunicorn", "--version"])
    out["wrk"] = _first_line(["wrk", "-v"])
    return out


def _first_line(cmd):
    try:
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "not installed"
    lines = (result.stdout or result.stderr).strip().splitlines()
    return lines[0] if lines else "unknown"


def held_back(busy, min_busy) -> bool:
    """Whether a load that keeps the server saturated left the CPUs idle (a CpuMeter's
    `busy` share below `min_busy`) without anyone else using them: the host (a VM's
    hypervisor) held this machine back, as happens here for tens of seconds at a time
    with nothing in /proc to show for it but the idle time."""
    return busy == busy and busy < min_busy


def until_not_held_back(measure, min_busy, retries, what, keep=lambda result: False):
    """measure() -> a result with its CPUs' "busy" share, measured again while held_back,
    up to `retries` times; a result `keep` accepts (one that went wrong) is never set
    aside. Returns the last result."""
    for attempt in range(retries + 1):
        result = measure()
        if keep(result) or not held_back(result["busy"], min_busy) or attempt == retries:
            return result
        print(f"    the CPUs were busy only {result['busy']:.0%} of {what}: the host held the machine back; "
              "measuring again")
