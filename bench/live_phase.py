"""One phase of the live benchmark: a crowd of viewers on one server's event stream
(bench/live_viewers.py in processes of their own), the host's pins while they watch, and
the pin-to-receive latency of every viewer for every pin.

A pin's latency for one viewer = the moment the viewer's socket delivered the `pin`
event minus the moment the host's request was sent. Both are time.monotonic() readings
(CLOCK_MONOTONIC is system-wide) in two processes. A viewer that never got a pin counts
as later than any target.
"""
import json
import subprocess
import sys
import threading
import time

from .live_servers import ROOT


class Crowd:
    """The load generator: `procs` processes of bench/live_viewers.py, each with its share
    of the viewers (and of the connection rate); start, wait until every viewer
    streams, stop. Their reports are summed as one crowd's."""

    def __init__(self, port, path, viewers, rate, procs=2):
        self.viewers = viewers
        procs = max(1, min(procs, viewers))
        shares = [viewers // procs + (1 if k < viewers % procs else 0) for k in range(procs)]
        firsts = [sum(shares[:k]) for k in range(procs)]
        self.cmds = [[sys.executable, "-m", "bench.live_viewers", "--port", str(port), "--path", path,
                      "--viewers", str(n), "--first", str(first), "--rate", str(rate * n / viewers)]
                     for n, first in zip(shares, firsts)]
        self.procs, self.last, self.final, self.error, self.peak_streaming = [], {}, None, None, 0
        self._status, self._finals = [{} for _ in self.cmds], [None for _ in self.cmds]
        self._lines = threading.Condition()

    def __enter__(self):
        for k, cmd in enumerate(self.cmds):
            proc = subprocess.Popen(cmd, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            self.procs.append(proc)
            threading.Thread(target=self._read, args=(k, proc), daemon=True).start()
        return self

    def _read(self, k, proc):
        for line in proc.stdout:
            msg = json.loads(line)
            with self._lines:
                if msg["type"] == "final":
                    self._finals[k] = msg
                    if all(f is not None for f in self._finals):
                        self.final = _merge_finals(self._finals)
                elif msg["type"] == "error":
                    self.error = msg["message"]
                else:
                    self._status[k] = msg
                    self.last = {key: sum(s.get(key, 0) for s in self._status)
                                 for key in ("connected", "streaming", "closed", "connect_errors", "requested")}
                    self.peak_streaming = max(self.peak_streaming, self.last["streaming"])
                self._lines.notify_all()

    def _exited(self):
        return any(p.poll() is not None for p in self.procs)

    def wait_streaming(self, timeout) -> float:
        """Block until every viewer got the room's state (or timeout); returns seconds taken."""
        started = time.monotonic()
        with self._lines:
            self._lines.wait_for(lambda: self.last.get("streaming", 0) >= self.viewers or self._exited(), timeout)
        return time.monotonic() - started

    def stop(self) -> dict:
        if self.final is None:
            for proc in self.procs:  # every process at once: their "open at stop" is one moment
                if proc.poll() is None:
                    proc.stdin.write("stop\n")
                    proc.stdin.flush()
            with self._lines:
                self._lines.wait_for(lambda: self.final is not None or self._exited() and not self._pending(), 60)
        return self.final or {}

    def _pending(self):
        return any(f is None and p.poll() is None for f, p in zip(self._finals, self.procs))

    def __exit__(self, *exc):
        try:
            if any(p.poll() is None for p in self.procs):
                self.stop()
        finally:
            for proc in self.procs:
                if proc.poll() is None:
                    proc.kill()
                proc.wait(10)


def _merge_finals(finals) -> dict:
    """One crowd's final report from its processes': pins by event id, errors and
    counts summed; memory and CPU per process (the largest, and the sum)."""
    merged = {"type": "final", "pins": {}, "errors": {}, "processes": len(finals)}
    for f in finals:
        for key in ("connected", "streaming", "closed", "connect_errors", "requested", "open_at_stop", "bytes"):
            merged[key] = merged.get(key, 0) + f.get(key, 0)
        for event_id, times in f.get("pins", {}).items():
            merged["pins"].setdefault(event_id, []).extend(times)
        for kind, n in f.get("errors", {}).items():
            merged["errors"][kind] = merged["errors"].get(kind, 0) + n
    merged["peak_rss_kb"] = max(f.get("peak_rss_kb", 0) for f in finals)
    merged["cpu_seconds"] = sum(f.get("cpu_seconds", 0.0) for f in finals)
    return merged


def latencies(pins: list[tuple[float, int]], final: dict, expected: int) -> list[dict]:
    """Per pin: (t0, event id) -> the receipt latencies (s) and how many viewers never got it."""
    out = []
    for t0, event_id in pins:
        got = sorted(t - t0 for t in final.get("pins", {}).get(str(event_id), []))
        out.append({"event_id": event_id, "latencies": got, "missing": max(0, expected - len(got))})
    return out


def summary(per_pin: list[dict], within=1.0) -> dict:
    """Pooled distribution over all pins and viewers, and the worst single pin."""
    pooled = sorted(x for p in per_pin for x in p["latencies"])
    missing = sum(p["missing"] for p in per_pin)
    total = len(pooled) + missing
    if not total:
        return {"n": 0}

    def pct(q):  # missing receipts sort after every received one
        k = min(total - 1, max(0, int(q * total + 0.5) - 1))
        return pooled[k] if k < len(pooled) else float("inf")

    shares = [sum(1 for x in p["latencies"] if x <= within) / max(1, len(p["latencies"]) + p["missing"])
              for p in per_pin]
    return {"n": total, "pins": len(per_pin), "p50": pct(0.50), "p99": pct(0.99),
            "max": pooled[-1] if not missing and pooled else float("inf"), "missing": missing,
            "share_within": sum(1 for x in pooled if x <= within) / total, "worst_pin_share": min(shares)}
