"""One phase of the live benchmark: a crowd of viewers on one server's event stream
(bench/live_viewers.py in its own process), the host's pins while they watch, and
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
    """The load generator process: start, wait until every viewer streams, stop."""

    def __init__(self, port, path, viewers, rate):
        self.viewers = viewers
        self.cmd = [sys.executable, "-m", "bench.live_viewers", "--port", str(port), "--path", path,
                    "--viewers", str(viewers), "--rate", str(rate)]
        self.proc, self.last, self.final, self.error, self.peak_streaming = None, {}, None, None, 0
        self._lines = threading.Condition()

    def __enter__(self):
        self.proc = subprocess.Popen(self.cmd, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        threading.Thread(target=self._read, daemon=True).start()
        return self

    def _read(self):
        for line in self.proc.stdout:
            msg = json.loads(line)
            with self._lines:
                if msg["type"] == "final":
                    self.final = msg
                elif msg["type"] == "error":
                    self.error = msg["message"]
                else:
                    self.last = msg
                    self.peak_streaming = max(self.peak_streaming, msg["streaming"])
                self._lines.notify_all()

    def wait_streaming(self, timeout) -> float:
        """Block until every viewer got the room's state (or timeout); returns seconds taken."""
        started = time.monotonic()
        with self._lines:
            self._lines.wait_for(lambda: self.last.get("streaming", 0) >= self.viewers
                                 or self.proc.poll() is not None, timeout)
        return time.monotonic() - started

    def stop(self) -> dict:
        if self.final is None and self.proc.poll() is None:
            self.proc.stdin.write("stop\n")
            self.proc.stdin.flush()
            with self._lines:
                self._lines.wait_for(lambda: self.final is not None, 60)
        return self.final or {}

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            try:
                self.stop()
            finally:
                self.proc.kill() if self.proc.poll() is None else None
        self.proc.wait(10)


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
