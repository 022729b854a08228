"""Peak memory of every process a benchmark starts, by kind (psutil, sampled in a thread).

Every `interval` seconds the sampler walks the benchmark's process tree and records, per
process, the larger of its current resident set (RSS) and its high-water mark (VmHWM from
/proc, which also catches spikes between two samples). Processes are grouped by kind:
a gunicorn worker is named by the app it serves, its worker class and GUNICORN_ROLE, so
"peak per web worker" is the largest figure of any single worker of that kind.
"""
import os
import re

import psutil

from .sampler import Sampler

MB = 1_000_000
BARE_APPS = ("bench.bare_app", "bench.live_bare_app")  # the yardsticks, not the marketplace


def _option(cmdline, *names):
    for i, arg in enumerate(cmdline):
        for name in names:
            if arg == name and i + 1 < len(cmdline):
                return cmdline[i + 1]
            if arg.startswith(name + "="):
                return arg.split("=", 1)[1]
    return None


def _app_spec(cmdline):
    """The WSGI app of a gunicorn command line (`module:app`), or where it comes from."""
    specs = [a for a in cmdline if re.match(r"^[A-Za-z_][\w.]*:[A-Za-z_]", a)]
    return specs[-1] if specs else "app from gunicorn.conf.py"


def _role(proc):
    try:
        return proc.environ().get("GUNICORN_ROLE")
    except (psutil.Error, OSError):
        return None


def kind_of(proc, root_pid):
    """(kind label, is a web worker of the real app)."""
    try:
        cmd = proc.cmdline()
        parent = proc.parent()
        parent_cmd = parent.cmdline() if parent else []
    except (psutil.Error, OSError):
        return None, False
    if proc.pid == root_pid:
        return "benchmark driver (python -m bench NAME)", False
    if any("gunicorn" in a for a in cmd) and "--version" in cmd:
        return "gunicorn --version (machine facts)", False
    if any("gunicorn" in a for a in cmd):
        worker = any("gunicorn" in a for a in parent_cmd)
        spec = _app_spec(parent_cmd if worker else cmd)
        wclass = _option(parent_cmd if worker else cmd, "-k", "--worker-class") or "per gunicorn.conf.py"
        role = _role(proc)
        label = f"gunicorn {'worker' if worker else 'master'} `{spec}` ({wclass}" + (f", role {role})" if role else ")")
        return label, worker and not spec.startswith(BARE_APPS)
    name = os.path.basename(cmd[0]) if cmd else proc.name()
    if name.startswith("python") and len(cmd) > 2 and cmd[1] == "-m":
        name = f"python -m {cmd[2]}"
    return name, False


def _hwm_bytes(pid):
    try:
        with open(f"/proc/{pid}/status") as fh:
            return next(int(ln.split()[1]) * 1024 for ln in fh if ln.startswith("VmHWM:"))
    except (OSError, StopIteration, ValueError):
        return 0


class TreeMemory(Sampler):
    """`with TreeMemory(pid): ...`, then `.kinds`: {kind: {"peak_mb", "processes", "web_worker"}}."""

    def __init__(self, root_pid, interval=0.5):
        super().__init__()
        self.root_pid, self.interval = root_pid, interval
        self.kinds, self._seen = {}, {}

    def sample(self):
        try:
            root = psutil.Process(self.root_pid)
            procs = [root] + root.children(recursive=True)
        except psutil.Error:
            return
        for proc in procs:
            key = (proc.pid, _create_time(proc))
            if key not in self._seen:
                self._seen[key] = kind_of(proc, self.root_pid)
            kind, web = self._seen[key]
            if kind is None:
                continue
            try:
                peak = max(proc.memory_info().rss, _hwm_bytes(proc.pid)) / MB
            except psutil.Error:
                continue
            entry = self.kinds.setdefault(kind, {"peak_mb": 0.0, "pids": set(), "web_worker": web})
            entry["peak_mb"] = max(entry["peak_mb"], peak)
            entry["pids"].add(key)

    def summary(self):
        return {kind: {"peak_mb": e["peak_mb"], "processes": len(e["pids"]), "web_worker": e["web_worker"]}
                for kind, e in sorted(self.kinds.items())}


def _create_time(proc):
    try:
        return proc.create_time()
    except psutil.Error:
        return 0
