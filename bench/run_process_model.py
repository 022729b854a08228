"""The process-model benchmark: which gunicorn layout serves pages beside live-room streams.

Three layouts of the same app (gunicorn.conf.py, production config, PostgreSQL, Redis),
each with two workers per service, measured in interleaved rounds (the order rotates):

    split    GUNICORN_ROLE=pages (gthread 2 x 4) for pages + GUNICORN_ROLE=events (gevent) for streams
    single   GUNICORN_ROLE=all: one gevent pool serving both
    gthread  GUNICORN_ROLE=pages serving both (what a stock `gunicorn -k gthread` would do)

In each round and layout: page load alone (wrk) is the baseline; then V viewers open the
live room's event stream (bench/process_model_crowd.py), a publisher fans a stamped
message out to them twice a second through Redis, and the same page load runs again.
Reported: page req/s and p95 with and without the viewers, streams that opened, fan-out
latency (publish -> arrival at each viewer) idle and under page load, peak worker RSS.

On SQLite (`--database-url sqlite:///PATH`) the same processes serve one SQLite file, as a
small install without PostgreSQL would run; the demo data are seeded on PostgreSQL
(`--source-url`) and copied into the file (bench/process_model_data.py).

Targets (the decision's criteria): pages keep >= 0.8 x their own req/s with the viewers
connected; fan-out p99 <= 1 s under page load (issue 4's pin target); every stream
opens; peak memory per worker <= 200 MB (issue 7).
"""
import datetime
import http.client
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack

from . import load, sqlite_copy
from .docs import write_section
from .machine import CpuMeter, facts, wait_until_quiet
from .process_model_crowd import Crowd, MemorySampler, Publisher, percentile
from .process_model_data import counts, prepare

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HELP = "gunicorn layouts: pages beside 1,000 live-room streams (gthread+gevent vs one gevent pool vs gthread)"
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/h_ops_bench"
#: layout -> [(GUNICORN_ROLE, serves)]; "both" means pages and streams on that service
LAYOUTS = {"split": [("pages", "pages"), ("events", "streams")], "single": [("all", "both")],
           "gthread": [("pages", "both")]}
MIN_RPS_RATIO, MAX_FANOUT_P99, MAX_WORKER_MB = 0.8, 1.0, 200
SQLITE = True  #: `python -m bench all` runs it on SQLite too


def add_arguments(p):
    p.add_argument("--database-url", default=DEFAULT_URL,
                   help="PostgreSQL database to (re)build with the demo data (its public schema is DROPPED), "
                        "or sqlite:///PATH: a SQLite file rebuilt with the same data (default: %(default)s)")
    p.add_argument("--source-url", default=DEFAULT_URL,
                   help="with a SQLite --database-url: the PostgreSQL database seeded and copied from "
                        "(default: %(default)s)")
    p.add_argument("--redis-url", default="redis://127.0.0.1:6379/8", help="Redis (default: %(default)s)")
    p.add_argument("--viewers", type=int, default=1000, help="concurrent stream viewers (default: %(default)s)")
    p.add_argument("--layouts", default="split,single,gthread", help="comma-separated (default: %(default)s)")
    p.add_argument("--rounds", type=int, default=2,
                   help="interleaved rounds; figures are medians (default: %(default)s)")
    p.add_argument("--duration", type=int, default=12, help="seconds of page load per phase (default: %(default)s)")
    p.add_argument("--concurrency", type=int, default=8, help="page load connections (default: %(default)s)")
    p.add_argument("--workers", type=int, default=2, help="workers per service (default: %(default)s)")
    p.add_argument("--connect-wait", type=int, default=60,
                   help="longest wait, in seconds, for the viewers' streams to open (default: %(default)s)")
    p.add_argument("--page-cache-seconds", type=float, default=0,
                   help="PAGE_CACHE_SECONDS of the app; 0 (default) renders every page, the CPU a signed-in "
                        "buyer's pages cost, which is what competes with the streams")
    p.add_argument("--max-others", type=float, default=0.5, metavar="SHARE",
                   help="before each layout, wait until other processes use at most this share of the CPUs "
                        "(default: %(default)s)")
    p.add_argument("--quiet-timeout", type=int, default=90,
                   help="longest wait, in seconds, for that quiet (then it measures anyway) (default: %(default)s)")
    p.add_argument("--reuse-data", action="store_true",
                   help="keep the database when the demo show is there (SQLite: and the file when it holds "
                        "the source's rows)")
    p.add_argument("--write-docs", action="store_true", help="write the results into docs/benchmarks.md")


# --- servers ---------------------------------------------------------------------------------

def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(port, path):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path)
        return conn.getresponse().status
    finally:
        conn.close()


class Service:
    """`gunicorn` as production starts it (gunicorn.conf.py, GUNICORN_ROLE), on a free port."""

    def __init__(self, role, env, logdir):
        self.role, self.port = role, _free_port()
        self.log = os.path.join(logdir, f"{role}-{self.port}.log")
        self.env = {**os.environ, **env, "GUNICORN_ROLE": role, "GUNICORN_BIND": f"127.0.0.1:{self.port}",
                    "GUNICORN_ERROR_LOG": self.log, "GUNICORN_GRACEFUL_TIMEOUT": "3"}
        self.env.pop("PROMETHEUS_MULTIPROC_DIR", None)  # each master makes its own

    def __enter__(self):
        self.proc = subprocess.Popen([sys.executable, "-m", "gunicorn"], cwd=ROOT, env=self.env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn ({self.role}) exited; see {self.log}")
            try:
                if _get(self.port, "/healthz") == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"gunicorn ({self.role}) did not come up; see {self.log}")

    def __exit__(self, *exc):
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


# --- one layout, one round ---------------------------------------------------------------------

def measure(layout, args, env, show_id, paths, logdir) -> dict:
    with ExitStack() as stack:
        services = {serves: stack.enter_context(Service(role, env, logdir)) for role, serves in LAYOUTS[layout]}
        pages = services.get("pages") or services["both"]
        streams = services.get("streams") or services["both"]
        base = f"http://127.0.0.1:{pages.port}"
        memory = MemorySampler([s.proc.pid for s in services.values()])
        memory.start()
        stack.callback(memory.stop)
        load.run(base, paths, 3, args.concurrency)  # warm-up: imports, pools, template caches
        with CpuMeter(args.database_url) as cpu_alone:
            alone = load.run(base, paths, args.duration, args.concurrency)
        crowd = Crowd(streams.port, f"/api/v1/livestreams/{show_id}/events", args.viewers)
        crowd.start()
        stack.callback(crowd.stop)
        opened = _wait_for_streams(crowd, args)
        publisher = Publisher(args.redis_url, show_id)
        publisher.start()
        stack.callback(publisher.stop)
        time.sleep(5)  # idle fan-out: the streams' own latency, no page load
        idle = crowd.take_latencies()
        with CpuMeter(args.database_url) as cpu:
            loaded = load.run(base, paths, args.duration, args.concurrency)
        publisher.stop()
        fanout = _drain(crowd, publisher.published * crowd.streaming() - len(idle))
        return {"alone": alone, "loaded": loaded, "opened": opened, "idle": idle, "fanout": fanout,
                "published": publisher.published, "others": cpu.others, "others_alone": cpu_alone.others,
                "peak_mb": memory.peak_mb}


def _drain(crowd, expected, seconds=3.0) -> list[float]:
    """The latencies so far, waiting a little for messages still on their way."""
    taken, deadline = [], time.monotonic() + seconds
    while len(taken) < expected and time.monotonic() < deadline:
        taken += crowd.take_latencies()
        time.sleep(0.1)
    return taken + crowd.take_latencies()


def _wait_for_streams(crowd, args) -> int:
    deadline = time.monotonic() + args.connect_wait
    while time.monotonic() < deadline and crowd.streaming() < args.viewers:
        time.sleep(0.5)
    return crowd.streaming()


# --- the run ---------------------------------------------------------------------------------

def run(args, command):
    layouts = [name.strip() for name in args.layouts.split(",")]
    unknown = set(layouts) - set(LAYOUTS)
    if unknown:
        print(f"unknown layouts: {', '.join(sorted(unknown))}; choose from {', '.join(LAYOUTS)}")
        return 2
    show_id, paths = prepare(args.database_url, args.source_url, args.reuse_data)
    env = {"MARKETPLACE_CONFIG": "production", "SECRET_KEY": "bench-" + "k" * 40, "DATABASE_URL": args.database_url,
           "REDIS_URL": args.redis_url, "WEB_CONCURRENCY": str(args.workers), "LOG_FORMAT": "json",
           "LOG_LEVEL": "WARNING", "PAGE_CACHE_SECONDS": str(args.page_cache_seconds),
           "BASE_URL": "https://market.bench.example"}
    started = datetime.datetime.now().astimezone()
    results = {name: [] for name in layouts}
    with tempfile.TemporaryDirectory(prefix="bench-pm-logs-") as logdir:
        for n in range(args.rounds):
            order = layouts[n % len(layouts):] + layouts[:n % len(layouts)]
            for layout in order:
                waited = wait_until_quiet(args.database_url, args.max_others, args.quiet_timeout, log=lambda *_: None)
                print(f"round {n + 1}/{args.rounds}: {layout} (waited {waited:.0f} s for a quieter machine) ...")
                results[layout].append(measure(layout, args, env, show_id, paths, logdir))
                print("  " + _one_line(results[layout][-1], args.viewers))
    rows = {name: summarise(runs, args.viewers) for name, runs in results.items()}
    markdown = report(rows, args, command, started, results)
    print(markdown)
    if args.write_docs:
        section = "process_model-sqlite" if sqlite_copy.is_sqlite(args.database_url) else "process_model"
        print("wrote", write_section(section, markdown))
    return 0


def _one_line(r, viewers):
    return (f"pages {r['alone']['rps']:.0f} -> {r['loaded']['rps']:.0f} req/s, streams {r['opened']}/{viewers}, "
            f"fan-out p99 {percentile(r['fanout'], 99) * 1000:.0f} ms, peak {r['peak_mb']:.0f} MB, "
            f"others' CPU {r['others']:.0%}")


def summarise(runs, viewers) -> dict:
    def median(key, sub=None):
        values = [r[key][sub] if sub else r[key] for r in runs]
        return statistics.median(values)

    fanout = [x for r in runs for x in r["fanout"]]
    expected = sum(r["published"] * r["opened"] for r in runs)
    return {"rps_alone": median("alone", "rps"), "rps_loaded": median("loaded", "rps"),
            "p95_alone": median("alone", "p95"), "p95_loaded": median("loaded", "p95"),
            "errors_loaded": sum(r["loaded"]["errors"] for r in runs), "opened": min(r["opened"] for r in runs),
            "idle_p99": percentile([x for r in runs for x in r["idle"]], 99),
            "fanout_p50": percentile(fanout, 50), "fanout_p99": percentile(fanout, 99),
            "within_1s": sum(1 for x in fanout if x <= 1.0) / len(fanout) if fanout else 0.0,
            "received": len(fanout) + sum(len(r["idle"]) for r in runs), "expected": expected,
            "peak_mb": max(r["peak_mb"] for r in runs), "others": median("others"),
            "others_alone": median("others_alone")}


# --- the report --------------------------------------------------------------------------------

def _data_line(url, source_url):
    sizes = ", ".join(f"{rows:,} {table.replace('_', ' ')}" for table, rows in counts(url).items())
    if not sqlite_copy.is_sqlite(url):
        return f"Data: the app's demo data (`marketplace.demo.seed`) on PostgreSQL: {sizes}."
    return (f"Data: the app's demo data (`marketplace.demo.seed`), seeded on PostgreSQL ({source_url}) and copied "
            f"into one SQLite file (bench/sqlite_copy.py), which every process of each layout serves: {sizes}. "
            "SQLite runs inside the gunicorn workers, so its CPU is in \"our\" CPU and its page cache in the "
            "workers' RSS; it has one writer at a time (the streams record their viewers, the pages only read). "
            "A sqlite3 call does not yield to gevent: in a gevent worker (events, single) each query of a page "
            "holds up that worker's streams until it returns, where a PostgreSQL query would let them run.")


def _ms(seconds):
    return "—" if seconds != seconds else f"{seconds * 1000:,.0f}"  # NaN: nothing arrived


def _verdicts(row, viewers) -> dict:
    ratio = row["rps_loaded"] / row["rps_alone"] if row["rps_alone"] else 0.0
    return {"pages keep >= 0.8 x their req/s": (f"{ratio:.2f}", ratio >= MIN_RPS_RATIO),
            f"all {viewers:,} streams open": (f"{row['opened']:,}", row["opened"] >= viewers),
            "fan-out p99 <= 1 s under page load": (_ms(row["fanout_p99"]) + " ms",
                                                   row["fanout_p99"] <= MAX_FANOUT_P99),
            "peak worker RSS <= 200 MB": (f"{row['peak_mb']:.0f} MB", row["peak_mb"] <= MAX_WORKER_MB)}


def report(rows, args, command, started, results) -> str:
    on_sqlite = sqlite_copy.is_sqlite(args.database_url)
    out = ["## Process model: pages beside live-room streams" + (", on SQLite" if on_sqlite else ""), "",
           f"`{command}` — {started:%Y-%m-%d %H:%M %Z}", "",
           "| machine | |", "|---|---|"]
    out += [f"| {k} | {v} |" for k, v in facts(args.database_url).items()]
    out += ["", _data_line(args.database_url, args.source_url), "",
            f"Redis fan-out, production config, `gunicorn.conf.py` with {args.workers} workers per service; "
            f"page load: wrk, {args.concurrency} connections, "
            f"{args.duration} s per phase, the catalog, home and product pages, page cache "
            f"{'off' if not args.page_cache_seconds else f'{args.page_cache_seconds:g} s'}; "
            f"{args.viewers:,} viewers on the live show's event stream, two stamped messages a second "
            f"fanned out to all of them. Medians of {args.rounds} interleaved rounds; latencies pooled. "
            f"Before each layout the run waited up to {args.quiet_timeout} s for the machine's other processes "
            f"to use at most {args.max_others:.0%} of the CPUs; \"others' CPU\" is what they used during the "
            "page phases (the machine is shared).", "",
            f"| layout | pages req/s alone | with {args.viewers:,} viewers | p95 ms alone | p95 with viewers "
            "| page errors | streams open | fan-out p99 idle | fan-out p50 / p99 under load | ≤ 1 s "
            "| peak worker MB | others' CPU alone / with viewers |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, r in rows.items():
        p95_alone = f"{r['p95_alone']:.0f}" if r["rps_alone"] else "— (none answered)"
        p95_loaded = f"{r['p95_loaded']:.0f}" if r["rps_loaded"] else "— (none answered)"
        out.append(f"| {name} | {r['rps_alone']:.1f} | {r['rps_loaded']:.1f} | {p95_alone} "
                   f"| {p95_loaded} | {r['errors_loaded']:,} | {r['opened']:,} | {_ms(r['idle_p99'])} "
                   f"| {_ms(r['fanout_p50'])} / {_ms(r['fanout_p99'])} | {r['within_1s']:.1%} "
                   f"| {r['peak_mb']:.0f} | {r['others_alone']:.0%} / {r['others']:.0%} |")
    out += ["", "Each round (the spread is the shared machine's):", "",
            "| layout | pages req/s alone, by round | with viewers | fan-out p99 ms under load | others' CPU |",
            "|---|---|---|---|---|"]
    for name, runs in results.items():
        cells = [" / ".join(f"{r['alone']['rps']:.0f}" for r in runs),
                 " / ".join(f"{r['loaded']['rps']:.0f}" for r in runs),
                 " / ".join(_ms(percentile(r["fanout"], 99)) for r in runs),
                 " / ".join(f"{r['others']:.0%}" for r in runs)]
        out.append(f"| {name} | " + " | ".join(cells) + " |")
    out += ["", "| layout | target | measured | verdict |", "|---|---|---:|---|"]
    for name, r in rows.items():
        for target, (measured, ok) in _verdicts(r, args.viewers).items():
            out.append(f"| {name} | {target} | {measured} | {'PASS' if ok else '**FAIL**'} |")
    return "\n".join(out) + "\n"
