"""Closed-loop HTTP load against 127.0.0.1: `wrk` when installed, else a Python client.

Each run keeps `concurrency` keep-alive connections busy for `duration`
seconds, cycling through a list of paths, and returns requests per second,
latency percentiles (ms) and errors (socket errors, timeouts and any non-2xx/3xx
status). wrk (Debian package `wrk`, LuaJIT) is preferred: it costs far less CPU
than the server it measures, which matters when both share two cores. Its Lua
`done()` hook prints exact percentiles (wrk's --latency table has no p95).
"""
import http.client
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from urllib.parse import urlsplit

LUA = r"""
local paths, i = {}, 0
function init(args)
  for line in io.lines(args[1]) do paths[#paths + 1] = line end
  i = math.random(#paths) - 1
end
function request()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('BENCH_JSON {"requests": %d, "duration_us": %d, "bytes": %d, ' ..
    '"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d, ' ..
    '"p50": %d, "p95": %d, "p99": %d, "max": %d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max))
end
"""


def _check_local(base_url):
    parts = urlsplit(base_url)
    if parts.hostname != "127.0.0.1":
        raise ValueError(f"the load generator only targets 127.0.0.1, not {parts.hostname!r}")
    return parts


def has_wrk() -> bool:
    return shutil.which("wrk") is not None


def run(base_url, paths, duration, concurrency, engine="auto", max_requests=2_000_000) -> dict:
    """Load `base_url` + paths for `duration` s; returns rps, p50/p95/p99/max (ms), errors."""
    _check_local(base_url)
    if engine == "wrk" or (engine == "auto" and has_wrk()):
        return _run_wrk(base_url, paths, duration, concurrency)
    return _run_python(base_url, paths, duration, concurrency, max_requests)


def _run_wrk(base_url, paths, duration, concurrency):
    with tempfile.TemporaryDirectory(prefix="bench-wrk-") as tmp:
        script, path_file = os.path.join(tmp, "paths.lua"), os.path.join(tmp, "paths.txt")
        with open(script, "w") as fh:
            fh.write(LUA)
        with open(path_file, "w") as fh:
            fh.write("\n".join(paths) + "\n")
        # One wrk thread: it drives thousands of requests per second on one core,
        # leaving the rest of the machine to gunicorn and PostgreSQL.
        cmd = ["wrk", "-t1", f"-c{concurrency}", f"-d{duration}s", "--timeout", "10s", "-s", script,
               base_url, "--", path_file]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60, check=True).stdout
    line = next(ln for ln in out.splitlines() if ln.startswith("BENCH_JSON "))
    raw = json.loads(line[len("BENCH_JSON "):])
    seconds = raw["duration_us"] / 1e6
    errors = raw["connect"] + raw["read"] + raw["write"] + raw["status"] + raw["timeout"]
    return {"engine": "wrk", "requests": raw["requests"], "seconds": seconds, "rps": raw["requests"] / seconds,
            "p50": raw["p50"] / 1000, "p95": raw["p95"] / 1000, "p99": raw["p99"] / 1000,
            "max": raw["max"] / 1000, "errors": errors, "bytes": raw["bytes"]}


def _percentile(sorted_values, pct):
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, max(0, round(pct / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[k]


def _run_python(base_url, paths, duration, concurrency, max_requests):
    """Fallback: one thread per connection, http.client keep-alive, stops at the
    deadline or after max_requests in total, whichever comes first."""
    parts = _check_local(base_url)
    latencies, errors, sizes = [], [0], [0]
    lock = threading.Lock()
    budget = [max_requests]
    deadline = time.perf_counter() + duration

    def worker(offset):
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        mine, n = [], offset
        while time.perf_counter() < deadline:
            with lock:
                if budget[0] <= 0:
                    break
                budget[0] -= 1
            path = paths[n % len(paths)]
            n += 1
            start = time.perf_counter()
            try:
                conn.request("GET", path)
                resp = conn.getresponse()
                body = resp.read()
                ok = resp.status < 400
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
                body, ok = b"", False
            mine.append((time.perf_counter() - start) * 1000)
            with lock:
                sizes[0] += len(body)
                errors[0] += 0 if ok else 1
        conn.close()
        with lock:
            latencies.extend(mine)

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(duration + 30)
    seconds = time.perf_counter() - started
    latencies.sort()
    return {"engine": "python", "requests": len(latencies), "seconds": seconds, "rps": len(latencies) / seconds,
            "p50": _percentile(latencies, 50), "p95": _percentile(latencies, 95),
            "p99": _percentile(latencies, 99), "max": latencies[-1] if latencies else float("nan"),
            "errors": errors[0], "bytes": sizes[0]}
