"""The storefront benchmark: real catalog, search and product pages against a bare page.

Both apps run under gunicorn with identical settings (GUNICORN below) against
the same seeded database, side by side in one run, and every target gets the
same load (concurrency, duration) from the same generator. Targets are
measured in interleaved rounds (the order rotates each round) so that drift on
the machine (other processes, caches, CPU frequency) lands on all of them
alike; each figure is the median over the rounds.

Targets (issue): catalog and product pages >= 0.8 x the bare page's requests
per second; search p95 <= 2 x the bare page's p95.
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

from . import load, queries, seed
from .machine import CpuMeter, wait_until_quiet
from .report import print_table, write_docs

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: the same for both apps: 2 workers (one per core) x 4 threads
GUNICORN = ["--workers", "2", "--worker-class", "gthread", "--threads", "4", "--keep-alive", "30",
            "--log-level", "warning"]
CATALOG_MIN_RPS_RATIO = 0.8
SEARCH_MAX_P95_RATIO = 2.0


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

    def __exit__(self, *exc):
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def get(port, path):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read().decode("utf-8", "replace")
    finally:
        conn.close()


def sample_products(url, n=200):
    """Ids of visible products spread over the table (deterministic), so the product
    target does not hammer one hot row."""
    with psycopg.connect(seed.libpq_url(url)) as conn:
        return [r[0] for r in conn.execute(
            "SELECT p.id FROM products p JOIN cooperatives c ON c.id = p.cooperative_id "
            "WHERE p.status = 'active' AND c.status = 'verified' ORDER BY md5(p.id::text) LIMIT %s", (n,))]


def build_targets(product_ids):
    """(name, server, paths, kind): the kind decides which target applies."""
    return [
        ("catalog, page 1", "app", ["/products"], "catalog"),
        ("catalog, page 50", "app", ["/products?page=50"], "catalog"),
        ("search 木耳", "app", ["/products?q=" + quote("木耳")], "search"),
        ("search lily", "app", ["/products?q=lily"], "search"),
        (f"product page ({len(product_ids)} ids)", "app", [f"/products/{i}" for i in product_ids], "product"),
        ("bare Flask+SQLAlchemy", "bare", ["/bare"], "bare"),
    ]


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

HELP = "catalog, search and product pages vs a bare Flask+SQLAlchemy page"


def add_arguments(p):
    p.add_argument("--database-url", default=DEFAULT_URL,
                   help="PostgreSQL database to (re)build and seed; its public schema is DROPPED "
                        "(default: %(default)s)")
    p.add_argument("--products", type=int, default=100_000, help="products to seed (default: %(default)s)")
    p.add_argument("--cooperatives", type=int, default=2_000, help="cooperatives to seed (default: %(default)s)")
    p.add_argument("--duration", type=int, default=12,
                   help="seconds of load per target per round (default: %(default)s)")
    p.add_argument("--rounds", type=int, default=5,
                   help="interleaved rounds; figures are medians (default: %(default)s)")
    p.add_argument("--warmup", type=int, default=5,
                   help="seconds of unmeasured load per target first (default: %(default)s)")
    p.add_argument("--concurrency", type=int, default=8,
                   help="keep-alive connections, = gunicorn workers x threads by default (default: %(default)s)")
    p.add_argument("--engine", choices=("auto", "wrk", "python"), default="auto",
                   help="load generator: wrk if installed, else Python (default: %(default)s)")
    p.add_argument("--max-others", type=float, default=0.15, metavar="SHARE",
                   help="measure only while other processes use at most this share of the CPUs; a round "
                        "where they took more is repeated (default: %(default)s)")
    p.add_argument("--retries", type=int, default=2, help="repeats of a noisy round (default: %(default)s)")
    p.add_argument("--quiet-timeout", type=int, default=120,
                   help="longest wait, in seconds, for a quiet machine before a round (default: %(default)s)")
    p.add_argument("--reuse-data", action="store_true",
                   help="skip seeding when the database already has exactly these counts")
    p.add_argument("--only", metavar="KINDS",
                   help="comma-separated subset of catalog,search,product (the bare page always runs)")
    p.add_argument("--app", default="wsgi:app",
                   help="gunicorn app spec of the real app, to measure a variant (default: %(default)s)")
    p.add_argument("--variant", action="append", metavar="LABEL=SPEC",
                   help="also serve the app pages from another gunicorn app spec, side by side, to try a "
                        "change out (repeatable), e.g. cached='mymod:make(\"cache\")'")
    p.add_argument("--write-docs", action="store_true", help="write the results into docs/benchmarks.md")


def run(args, command):
    url = args.database_url
    if args.reuse_data and has_data(url, args.products, args.cooperatives):
        data = seed.describe(url)
        print(f"reusing the data already in {url}: {data}")
    else:
        print(f"seeding {url} ...")
        data = seed.seed(url, args.products, args.cooperatives)
    targets = build_targets(sample_products(url))
    if args.only:
        kinds = set(args.only.split(",")) | {"bare"}
        targets = [t for t in targets if t[3] in kinds]
    variants = dict(v.split("=", 1) for v in args.variant or [])
    for label in variants:  # the same pages served by a variant app, side by side
        targets += [(f"{name} [{label}]", label, paths, kind) for name, server, paths, kind in targets
                    if server == "app"]
    app_targets = [(name, paths[0]) for name, server, paths, _ in targets if server == "app"]
    print("profiling the SQL of each page (in-process, EXPLAIN ANALYZE) ...")
    profile = queries.profile(url, app_targets)
    problems = queries.check_fixed(profile, [[n for n, _, _, k in targets if k in ("catalog", "search")]])
    for name, info in profile.items():
        print(f"  {name:<28} {info['queries']} queries, {info['sql_ms']:.2f} ms in PostgreSQL")
    for problem in problems:
        print("  WARNING:", problem)
    env_app = {"MARKETPLACE_CONFIG": "production", "SECRET_KEY": "bench", "DATABASE_URL": url}
    env_bare = {"BENCH_DATABASE_URL": url}
    with tempfile.TemporaryDirectory(prefix="bench-logs-") as logs, ExitStack() as stack:
        servers = {"app": stack.enter_context(Gunicorn(args.app, env_app, "/healthz", logs)),
                   "bare": stack.enter_context(Gunicorn("bench.bare_app:app", env_bare, "/bare", logs))}
        for label, spec in variants.items():
            servers[label] = stack.enter_context(Gunicorn(spec, env_app, "/healthz", logs))
        for name, server, paths, _ in targets:  # every path answers 200 before we time anything
            for path in paths:
                status, _ = get(servers[server].port, path)
                if status != 200:
                    raise RuntimeError(f"{name}: {path} answered {status}")
        print(f"warming up {args.warmup}s per target ...")
        for name, server, paths, _ in targets:
            load.run(servers[server].base, paths, args.warmup, args.concurrency, args.engine)
        runs = {name: [] for name, *_ in targets}
        for rnd in range(args.rounds):
            order = targets[rnd % len(targets):] + targets[:rnd % len(targets)]
            for name, server, paths, _ in order:
                result = measure(url, servers[server].base, paths, args)
                runs[name].append(result)
                print(f"  round {rnd + 1}/{args.rounds} {name:<28} {result['rps']:8.1f} rps  "
                      f"p95 {result['p95']:7.1f} ms  errors {result['errors']}  "
                      f"CPU: ours {result['ours']:.0%}, others {result['others']:.0%}")
        server_errors = _server_errors([server.log_path for server in servers.values()])
    rows = [_summarise(name, kind, runs[name]) for name, _, _, kind in targets]
    verdicts = evaluate(rows)
    print_table(rows, verdicts)
    if args.write_docs:
        path = write_docs(os.path.join(ROOT, "docs", "benchmarks.md"), command=command, args=args, rows=rows,
                          verdicts=verdicts, profile=profile, data=data, engine=runs[targets[0][0]][0]["engine"],
                          gunicorn=GUNICORN, problems=problems + server_errors + _noise(rows), url=url)
        print(f"wrote {path}")
    return 0 if all(v["ok"] for v in verdicts) else 1


def measure(url, base, paths, args):
    """One measurement on a quiet machine: wait until other processes use at most
    --max-others of the CPUs, measure, and repeat (up to --retries times) if they
    took more than that while we measured."""
    for attempt in range(args.retries + 1):
        wait_until_quiet(url, args.max_others, args.quiet_timeout)
        with CpuMeter(url) as meter:
            result = load.run(base, paths, args.duration, args.concurrency, args.engine)
        result.update(others=meter.others, ours=meter.ours, attempts=attempt + 1,
                      cpu_ms=meter.ours_seconds * 1000 / max(result["requests"], 1))
        if meter.others <= args.max_others:
            break
        if attempt < args.retries:
            print(f"    other processes took {meter.others:.0%} of the CPUs during it: measuring again")
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
    """One verdict per measured real page against the bare page."""
    bare = next(r for r in rows if r["kind"] == "bare")
    verdicts = []
    for row in rows:
        cpu_ratio = bare["cpu_ms"] / row["cpu_ms"]
        if row["kind"] in ("catalog", "product"):
            ratio = row["rps"] / bare["rps"]
            rule, ok = f"rps >= {CATALOG_MIN_RPS_RATIO} x bare", ratio >= CATALOG_MIN_RPS_RATIO
        elif row["kind"] == "search":
            ratio = row["p95"] / bare["p95"]
            rule, ok = f"p95 <= {SEARCH_MAX_P95_RATIO} x bare", ratio <= SEARCH_MAX_P95_RATIO
        else:
            continue
        ok = ok and row["errors"] == 0 and bare["errors"] == 0
        verdicts.append({"name": row["name"], "rule": rule, "ratio": ratio, "ok": ok, "cpu_ratio": cpu_ratio})
    return verdicts
