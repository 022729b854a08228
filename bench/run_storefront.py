"""The storefront benchmark: real catalog, search and product pages against a bare page.

Every app runs under gunicorn with identical settings (GUNICORN below) against
the same seeded database, side by side in one run, and every target gets the
same load (concurrency, duration) from the same generator. Targets are
measured in interleaved rounds (the order rotates each round) so that drift on
the machine (other processes, caches, CPU frequency) lands on all of them
alike; each figure is the median over the rounds.

The real app is served twice: with the anonymous page cache off (each request
renders its page: what a logged-in visitor, or the first view after a change,
costs) and as in production (page cache on: what anonymous visitors get).

Targets: issue 2, catalog and product pages >= 0.8 x the bare page's requests
per second, search p95 <= 2 x the bare page's p95; issue 7, the cached
anonymous catalog page >= 0.5 x the requests per second of a bare Flask
"hello world" served the same way.
"""
import http.client
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from urllib.parse import quote

import psycopg

from . import load, queries, seed, sqlite_copy, storefront_data
from .machine import CpuMeter, held_back, wait_until_quiet
from .report import print_table, write_docs
from .storefront_data import next_link_path, sample_products  # noqa: F401 - also this module's API

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: the same for every app: 2 workers (one per core) x 4 threads. gunicorn also reads the repo's
#: gunicorn.conf.py (cwd); its max_requests would recycle a worker every 10,000 requests, which
#: the cached pages reach every few seconds, and each restart stalls that worker for seconds:
#: a run measures serving, so recycling is off (command-line flags win over the file)
GUNICORN = ["--workers", "2", "--worker-class", "gthread", "--threads", "4", "--keep-alive", "30",
            "--max-requests", "0", "--log-level", "warning"]
CATALOG_MIN_RPS_RATIO = 0.8
SEARCH_MAX_P95_RATIO = 2.0
CACHED_MIN_HELLO_RATIO = 0.5


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gunicorn:
    """A gunicorn process on 127.0.0.1:<free port>, stopped (SIGTERM) on exit."""

    def __init__(self, app, env, ready_path, logdir):
        self.port = _free_port()
        self.log_path = os.path.join(logdir, re.sub(r"[^\w.-]+", "_", app) + ".log")
        self.cmd = [sys.executable, "-m", "gunicorn", *GUNICORN, "--bind", f"127.0.0.1:{self.port}",
                    "--error-logfile", self.log_path, app]
        self.env, self.ready_path, self.proc = {**os.environ, **env}, ready_path, None

    @property
    def base(self):
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self):
        self.proc = subprocess.Popen(self.cmd, cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited; see {self.log_path}")
            try:
                if get(self.port, self.ready_path)[0] == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"gunicorn did not come up; see {self.log_path}")

    def peak_rss_mb(self):
        """The largest peak resident memory (VmHWM) among the workers, in MiB."""
        peaks = []
        try:
            with open(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children") as fh:
                workers = fh.read().split()
        except OSError:
            return None
        for pid in workers:
            try:
                with open(f"/proc/{pid}/status") as fh:
                    peaks += [int(ln.split()[1]) / 1024 for ln in fh if ln.startswith("VmHWM:")]
            except OSError:
                pass
        return max(peaks, default=None)

    def __exit__(self, *exc):
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def get(port, path):
    return get_with_headers(port, path)[:2]


def get_with_headers(port, path):
    """(status, body, headers) of one GET without cookies."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read().decode("utf-8", "replace"), dict(resp.getheaders())
    finally:
        conn.close()


def build_targets(product_ids, page_cache="both"):
    """(name, server, paths, kind): the kind decides which target applies. Server "app" is
    the real app with the page cache off, "cached" the same app as in production."""
    products = [f"/products/{i}" for i in product_ids]
    muer = "/products?q=" + quote("木耳")
    uncached = [
        ("catalog, page 1", "app", ["/products"], "catalog"),
        ("catalog, page 50", "app", ["/products?page=50"], "catalog"),
        ("search 木耳", "app", [muer], "search"),
        ("search lily", "app", ["/products?q=lily"], "search"),
        (f"product page ({len(product_ids)} ids)", "app", products, "product"),
    ]
    cached = [
        ("catalog, page 1, page cache", "cached", ["/products"], "catalog"),
        ("search 木耳, page cache", "cached", [muer], "search"),
        (f"product page ({len(product_ids)} ids), page cache", "cached", products, "product"),
        ('Flask "hello world"', "hello", ["/hello"], "hello"),
    ]
    return ((uncached if page_cache != "on" else []) + (cached if page_cache != "off" else [])
            + [("bare Flask+SQLAlchemy", "bare", ["/bare"], "bare")])


def has_data(url, products, cooperatives):
    """True when the database holds these counts and its schema is at the migrations' head."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", os.path.join(ROOT, "migrations"))
    heads = set(ScriptDirectory.from_config(cfg).get_heads())
    try:
        with psycopg.connect(seed.libpq_url(url), connect_timeout=5) as conn:
            got = conn.execute("SELECT (SELECT count(*) FROM products), (SELECT count(*) FROM cooperatives)").fetchone()
            versions = {r[0] for r in conn.execute("SELECT version_num FROM alembic_version")}
    except psycopg.Error:
        return False
    if versions != heads:
        print(f"the schema in {url} is at {sorted(versions)}, the migrations at {sorted(heads)}: seeding again")
        return False
    return got == (products, cooperatives)


DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/bench"
#: `python -m bench all` runs this benchmark on SQLite too (a sqlite:/// --database-url)
SQLITE = True

HELP = "catalog, search and product pages vs a bare Flask+SQLAlchemy page"


def add_arguments(p):
    p.add_argument("--database-url", default=DEFAULT_URL,
                   help="PostgreSQL database to (re)build and seed; its public schema is DROPPED; or "
                        "sqlite:///PATH, a SQLite file rebuilt from --source-url (default: %(default)s)")
    p.add_argument("--source-url", default=DEFAULT_URL,
                   help="with a SQLite --database-url: the PostgreSQL database seeded and copied from "
                        "(default: %(default)s)")
    p.add_argument("--products", type=int, default=100_000, help="products to seed (default: %(default)s)")
    p.add_argument("--cooperatives", type=int, default=2_000, help="cooperatives to seed (default: %(default)s)")
    p.add_argument("--duration", type=int, default=10,
                   help="seconds of load per target per round (default: %(default)s)")
    p.add_argument("--rounds", type=int, default=4,
                   help="interleaved rounds; figures are medians (default: %(default)s)")
    p.add_argument("--warmup", type=int, default=3,
                   help="seconds of unmeasured load per target first (default: %(default)s)")
    p.add_argument("--concurrency", type=int, default=8,
                   help="keep-alive connections, = gunicorn workers x threads by default (default: %(default)s)")
    p.add_argument("--engine", choices=("auto", "wrk", "python"), default="auto",
                   help="load generator: wrk if installed, else Python (default: %(default)s)")
    p.add_argument("--max-others", type=float, default=0.15, metavar="SHARE",
                   help="measure only while other processes use at most this share of the CPUs; a round "
                        "where they took more is repeated (default: %(default)s)")
    p.add_argument("--retries", type=int, default=2, help="repeats of a noisy round (default: %(default)s)")
    p.add_argument("--min-busy", type=float, default=0.8, metavar="SHARE",
                   help="a round during which the machine's CPUs were busy less than this share (all processes) "
                        "is measured again: the load keeps the server saturated, so idle CPUs mean the host "
                        "held the machine back (default: %(default)s)")
    p.add_argument("--quiet-timeout", type=int, default=120,
                   help="longest wait, in seconds, for a quiet machine before a round (default: %(default)s)")
    p.add_argument("--reuse-data", action="store_true",
                   help="skip seeding when the database already has exactly these counts")
    p.add_argument("--only", metavar="KINDS",
                   help="comma-separated subset of catalog,search,product (the bare page always runs)")
    p.add_argument("--page-cache", choices=("both", "off", "on"), default="both",
                   help="measure the pages with the page cache off, on (as in production), or both; "
                        "\"on\" adds the hello-world baseline (default: %(default)s)")
    p.add_argument("--page-cache-seconds", type=float, default=5,
                   help="PAGE_CACHE_SECONDS of the cached app (default: %(default)s, the app's default)")
    p.add_argument("--redis-url", metavar="URL",
                   help="REDIS_URL of the cached app, so pages are kept in Redis (shared by its workers) "
                        "instead of in each worker; e.g. redis://127.0.0.1:6379/6")
    p.add_argument("--app", default="wsgi:app",
                   help="gunicorn app spec of the real app, to measure a variant (default: %(default)s)")
    p.add_argument("--variant", action="append", metavar="LABEL=SPEC",
                   help="also serve the uncached app pages from another gunicorn app spec (same environment, "
                        "page cache off), side by side, to try a change out (repeatable), "
                        "e.g. old='bench.experiments:make(\"offset\")'")
    p.add_argument("--write-docs", action="store_true", help="write the results into docs/benchmarks.md")


def run(args, command):
    url = args.database_url
    data = storefront_data.prepare(args, has_data)
    targets = build_targets(sample_products(url), args.page_cache)
    if args.only:
        kinds = set(args.only.split(",")) | {"bare", "hello"}
        targets = [t for t in targets if t[3] in kinds]
    variants = dict(v.split("=", 1) for v in args.variant or [])
    for label in variants:  # the same pages served by a variant app, side by side
        targets += [(f"{name} [{label}]", label, paths, kind) for name, server, paths, kind in targets
                    if server == "app"]
    profile, problems = _profile(url, targets)
    with tempfile.TemporaryDirectory(prefix="bench-logs-") as logs, ExitStack() as stack:
        servers = _start_servers(stack, args, url, {server for _, server, _, _ in targets}, variants, logs)
        _check_answers(targets, servers)
        runs = _measure_rounds(args, url, targets, servers)
        memory = {name: server.peak_rss_mb() for name, server in servers.items()}
        server_errors = _server_errors([server.log_path for server in servers.values()])
    rows = [dict(_summarise(name, kind, runs[name]), server=server, rss_mb=memory[server])
            for name, server, _, kind in targets]
    verdicts = evaluate(rows)
    print_table(rows, verdicts)
    if args.write_docs:
        path = write_docs(os.path.join(ROOT, "docs", "benchmarks.md"), command=command, args=args, rows=rows,
                          verdicts=verdicts, profile=profile, data=data, engine=runs[targets[0][0]][0]["engine"],
                          gunicorn=GUNICORN, problems=problems + server_errors + _noise(rows), url=url)
        print(f"wrote {path}")
    return 0 if all(v["ok"] for v in verdicts) else 1


def _profile(url, targets):
    """SQL per page (queries.profile) of each distinct page, plus page 50 reached by "Next"."""
    pages = {}
    for name, server, paths, kind in targets:
        if kind in ("catalog", "search", "product") and server in ("app", "cached"):
            pages.setdefault(name.replace(", page cache", ""), paths[0])
    if "catalog, page 50" in pages:
        pages["catalog, page 50 by its Next link"] = next_link_path(url)
    # the query count per page works on any database; EXPLAIN ANALYZE timings are PostgreSQL's
    explain = not sqlite_copy.is_sqlite(url)
    print(f"profiling the SQL of each page (in-process, page cache off{', EXPLAIN ANALYZE' if explain else ''}) ...")
    profile = queries.profile(url, list(pages.items()), explain=explain)
    problems = queries.check_fixed(profile, [[n for n in pages if n.startswith("catalog")],
                                             [n for n in pages if n.startswith("search")]])
    for name, info in profile.items():
        spent = f", {info['sql_ms']:.2f} ms in PostgreSQL" if explain else ""
        print(f"  {name:<34} {info['queries']} queries ({info['queries_again']} within a minute){spent}")
    for problem in problems:
        print("  WARNING:", problem)
    return profile, problems


def _start_servers(stack, args, url, needed, variants, logs):
    app = {"MARKETPLACE_CONFIG": "production", "SECRET_KEY": "bench", "DATABASE_URL": url, "REDIS_URL": ""}
    specs = {
        "app": (args.app, dict(app, PAGE_CACHE_SECONDS="0"), "/healthz"),
        "cached": (args.app, dict(app, PAGE_CACHE_SECONDS=str(args.page_cache_seconds),
                                  REDIS_URL=args.redis_url or ""), "/healthz"),
        "bare": ("bench.bare_app:app", {"BENCH_DATABASE_URL": url}, "/bare"),
        "hello": ("bench.bare_app:hello", {}, "/hello"),
    }
    specs.update({label: (spec, dict(app, PAGE_CACHE_SECONDS="0"), "/healthz") for label, spec in variants.items()})
    return {name: stack.enter_context(Gunicorn(spec, env, ready, logs))
            for name, (spec, env, ready) in specs.items() if name in needed}


def _check_answers(targets, servers):
    """Every path answers 200 before we time anything, and the cached app really serves
    its pages from the cache (the second request of a path is a hit)."""
    for name, server, paths, _ in targets:
        for path in paths:
            status, _ = get(servers[server].port, path)
            if status != 200:
                raise RuntimeError(f"{name}: {path} answered {status}")
        if server == "cached":  # each worker keeps its own copies: a few tries reach one that has it
            seen = [get_with_headers(servers[server].port, paths[0])[2].get("X-Page-Cache") for _ in range(10)]
            if "hit" not in seen:
                raise RuntimeError(f"{name}: {paths[0]} is not served from the page cache ({seen})")


def _measure_rounds(args, url, targets, servers):
    print(f"warming up {args.warmup}s per target ...")
    for name, server, paths, _ in targets:
        load.run(servers[server].base, paths, args.warmup, args.concurrency, args.engine)
    runs = {name: [] for name, *_ in targets}
    for rnd in range(args.rounds):
        order = targets[rnd % len(targets):] + targets[:rnd % len(targets)]
        for name, server, paths, _ in order:
            result = measure(url, servers[server].base, paths, args)
            runs[name].append(result)
            print(f"  round {rnd + 1}/{args.rounds} {name:<40} {result['rps']:8.1f} rps  "
                  f"p95 {result['p95']:7.1f} ms  errors {result['errors']}  "
                  f"CPU: ours {result['ours']:.0%}, others {result['others']:.0%}")
    return runs


def measure(url, base, paths, args):
    """One measurement on a quiet machine: wait until other processes use at most
    --max-others of the CPUs, measure, and repeat (up to --retries times) if they
    took more than that while we measured, or if the CPUs sat idle (machine.held_back)."""
    for attempt in range(args.retries + 1):
        wait_until_quiet(url, args.max_others, args.quiet_timeout)
        with CpuMeter(url) as meter:
            result = load.run(base, paths, args.duration, args.concurrency, args.engine)
        result.update(others=meter.others, ours=meter.ours, attempts=attempt + 1,
                      cpu_ms=meter.ours_seconds * 1000 / max(result["requests"], 1))
        noisy = meter.others > args.max_others
        if not noisy and not held_back(meter.busy, args.min_busy):
            break
        if attempt < args.retries:
            print(f"    other processes took {meter.others:.0%} of the CPUs during it: measuring again" if noisy else
                  f"    the CPUs were busy only {meter.busy:.0%} of the time: the host held the machine back; "
                  "measuring again")
    return result


def _noise(rows):
    """A warning when other processes took a noticeable share of the machine."""
    worst = max(rows, key=lambda r: r["others_max"])
    if worst["others_max"] > 0.10:
        return [f"other processes used up to {worst['others_max']:.0%} of the CPUs during a round "
                f"({worst['name']}); rounds interleave targets and figures are medians, so ratios suffer less "
                "than absolute figures"]
    return []


def _server_errors(paths):
    found = []
    for path in paths:
        with open(path, encoding="utf-8", errors="replace") as fh:
            lines = [ln.strip() for ln in fh if "Traceback" in ln or "[ERROR]" in ln or "WORKER TIMEOUT" in ln]
        if lines:
            found.append(f"{os.path.basename(path)}: {len(lines)} error lines, first: {lines[0][:200]}")
    return found


def _summarise(name, kind, results):
    med = lambda key: statistics.median(r[key] for r in results)  # noqa: E731
    return {"name": name, "kind": kind, "rps": med("rps"), "rps_min": min(r["rps"] for r in results),
            "rps_max": max(r["rps"] for r in results), "p50": med("p50"), "p95": med("p95"), "p99": med("p99"),
            "errors": sum(r["errors"] for r in results), "requests": sum(r["requests"] for r in results),
            "kb": statistics.median(r["bytes"] / max(r["requests"], 1) / 1024 for r in results),
            "cpu_ms": med("cpu_ms"), "others": med("others"), "others_max": max(r["others"] for r in results),
            "repeats": sum(r["attempts"] - 1 for r in results)}


def evaluate(rows):
    """Verdicts of every measured real page: against the bare page (issue 2), and for the
    cached catalog page also against "hello world" (issue 7)."""
    bare = next(r for r in rows if r["kind"] == "bare")
    hello = next((r for r in rows if r["kind"] == "hello"), None)
    verdicts = []
    for row in rows:
        if row["kind"] in ("catalog", "product"):
            verdicts.append(_verdict(row, bare, "rps", CATALOG_MIN_RPS_RATIO))
        elif row["kind"] == "search":
            verdicts.append(_verdict(row, bare, "p95", SEARCH_MAX_P95_RATIO))
        if hello and row["server"] == "cached" and row["kind"] == "catalog":
            verdicts.append(_verdict(row, hello, "rps", CACHED_MIN_HELLO_RATIO))
    return verdicts


def _verdict(row, base, measure_key, limit):
    """rps: at least `limit` x the baseline's; p95: at most `limit` x the baseline's."""
    ratio = row[measure_key] / base[measure_key]
    ok = (ratio >= limit if measure_key == "rps" else ratio <= limit) and row["errors"] == 0 and base["errors"] == 0
    rule = f"{measure_key} {'>=' if measure_key == 'rps' else '<='} {limit} x {base['kind']}"
    return {"name": row["name"], "rule": rule, "ratio": ratio, "ok": ok, "cpu_ratio": base["cpu_ms"] / row["cpu_ms"]}
