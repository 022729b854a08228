"""The live-room benchmark: thousands of viewers on one show's event stream, the host's
pins reaching them, and a flash sale while they watch.

The real app runs in the production layout of gunicorn.conf.py: event streams on a
gevent service together with the host's live controls (pins: `--pins-to`), pages and the
rest of the JSON API (the buyers' checkouts) on a gthread service (`--layout single`: one gevent pool for both), production config,
`REDIS_URL` set so rooms fan out through Redis pub/sub, card payments through Stripe's
API served by localstripe. The yardstick is a bare Flask app whose stream is nothing but
Redis pub/sub -> SSE (bench/live_bare_app.py), on the same gevent settings. Rounds of the
two interleave (the order alternates), each with the same crowd from the load generator
(bench/live_viewers.py, its own process). A flash sale on a show nobody watches, first,
is the sale's own baseline.

Targets (issue 4): one 2-core machine holds at least 2,000 concurrent viewers; a pin
reaches 99 % of them within 1 s; the flash sale sells exactly its quota (counted in the
database). Issue 7: peak memory per web worker under load at most 200 MB.

With `--database-url sqlite:///PATH` the same run goes to a SQLite file that every
gunicorn process shares (bench/live_sqlite.py: the rows are seeded into --source-url
and copied; the write-ahead log is watched) and writes its own section, `live-sqlite`.
"""
import os
import tempfile
from contextlib import ExitStack

from . import live_seed, live_sqlite
from .live_report import print_results, write_docs
from .live_rounds import Database, app_round, bare_round, sale
from .live_servers import Gunicorn, LocalStripe, MemoryMeter, events_options, pages_options, peak_rss_kb
from .machine import wait_until_quiet
from .sqlite_copy import is_sqlite

HELP = "live room: 2,000 SSE viewers, pin latency, a flash sale under load, memory"
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/bench_live"
TARGET_VIEWERS, TARGET_SHARE, WORKER_MB = 2000, 0.99, 200
SQLITE = True  # sqlite:///PATH: the same rows, copied from the seeded --source-url (bench/live_sqlite.py)


def add_arguments(p):
    p.add_argument("--database-url", default=DEFAULT_URL,
                   help="database the app runs on: PostgreSQL, (re)built and seeded, its public schema DROPPED; "
                        "or sqlite:///PATH, a SQLite file rebuilt from the app's migrations and filled with the "
                        "rows seeded into --source-url (default: %(default)s)")
    p.add_argument("--source-url", default=DEFAULT_URL,
                   help="with a SQLite --database-url: the PostgreSQL database seeded and copied from "
                        "(default: %(default)s)")
    p.add_argument("--redis-url", default=os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0",
                   help="Redis for the fan-out and rate limits (default: $REDIS_URL or %(default)s)")
    p.add_argument("--viewers", type=int, default=TARGET_VIEWERS, help="concurrent viewers (default: %(default)s)")
    p.add_argument("--rounds", type=int, default=1, help="interleaved rounds of each app (default: %(default)s)")
    p.add_argument("--pins", type=int, default=8, help="pins per round while viewers watch (default: %(default)s)")
    p.add_argument("--pin-interval", type=float, default=2.0, help="seconds between pins (default: %(default)s)")
    p.add_argument("--buyers", type=int, default=200, help="buyers rushing in each flash sale (default: %(default)s)")
    p.add_argument("--quota", type=int, default=60, help="live quota of the flash item (default: %(default)s)")
    p.add_argument("--layout", choices=("split", "single"), default="split",
                   help="split: event streams on a gevent service, pins and checkouts on a gthread pages service "
                        "(gunicorn.conf.py's production layout); single: one gevent pool for all "
                        "(default: %(default)s)")
    p.add_argument("--workers", type=int, default=2, help="gevent workers of the streams (default: %(default)s)")
    p.add_argument("--worker-connections", type=int, default=2500,
                   help="gunicorn --worker-connections of the gevent workers (default: %(default)s)")
    p.add_argument("--pins-to", choices=("events", "pages"), default="events",
                   help="split layout: the service the host's pins go to; the proxy of docs/deploy.md sends the "
                        "host's live controls to the events service, so they never queue behind checkouts "
                        "(default: %(default)s)")
    p.add_argument("--page-workers", type=int, default=2, help="gthread workers of the pages (default: %(default)s)")
    p.add_argument("--threads", type=int, default=4, help="threads per pages worker (default: %(default)s)")
    p.add_argument("--rate", type=float, default=200.0,
                   help="viewers starting to connect per second (default: %(default)s)")
    p.add_argument("--generator-procs", type=int, default=2,
                   help="processes of the viewers' load generator, each with its share of the crowd "
                        "(default: %(default)s)")
    p.add_argument("--max-others", type=float, default=0.5, metavar="SHARE",
                   help="start a round only once other processes use at most this share of the CPUs, and repeat "
                        "a round in which they took more (default: %(default)s)")
    p.add_argument("--retries", type=int, default=2, help="repeats of a noisy round (default: %(default)s)")
    p.add_argument("--quiet-timeout", type=float, default=300.0,
                   help="longest wait, in seconds, for a quiet machine before a round (default: %(default)s)")
    p.add_argument("--ramp-timeout", type=float, default=300.0,
                   help="longest wait, in seconds, for every viewer to be streaming (default: %(default)s)")
    p.add_argument("--logs", help="folder for the servers' logs (default: a new folder under /tmp, kept)")
    p.add_argument("--write-docs", action="store_true", help="write the results into docs/benchmarks.md")


def run(args, command):
    url = args.database_url
    shows = 1 + args.rounds * (args.retries + 1)  # a repeated app round needs a show of its own
    if is_sqlite(url):
        world, counts = live_sqlite.prepare(url, args.source_url, shows, args.buyers, args.quota)
        database = Database(url, meter_url=args.source_url)
    else:
        print(f"seeding {url} ({shows} live shows, {args.buyers} buyers) ...")
        world, counts = live_seed.seed(url, shows, args.buyers, args.quota), None
        database = Database(url, meter_url=url)
    spare_shows = iter(world.shows[1:])
    logs = args.logs or tempfile.mkdtemp(prefix="bench-live-logs-")
    os.makedirs(logs, exist_ok=True)
    print(f"server logs: {logs}")
    results = {"rounds": [], "sales": [], "discarded": []}
    with ExitStack() as stack:
        stripe = stack.enter_context(LocalStripe(logs))
        servers = _start(stack, _app_env(url, args, stripe), logs, args)
        events, pages, bare = servers["app-events"], servers.get("app-pages", servers["app-events"]), servers["bare"]
        meters = {name: stack.enter_context(MemoryMeter(server.pids)) for name, server in servers.items()}
        print(f"flash sale with nobody watching (baseline): {args.buyers} buyers, quota {args.quota} ...")
        results["sales"].append(sale(url, pages, world.shows[0], world.buyer_tokens, "nobody watching"))
        for rnd in range(args.rounds):
            for name in (("bare", "app") if rnd % 2 == 0 else ("app", "bare")):
                print(f"round {rnd + 1}/{args.rounds}: {name}, {args.viewers} viewers ...")
                done = _quiet_round(database, args, results, name, lambda: (
                    bare_round(database, bare, args) if name == "bare" else
                    app_round(database, events, pages, next(spare_shows), world.buyer_tokens, args)))
                if "sale" in done:
                    results["sales"].append(done.pop("sale"))
                results["rounds"].append(done)
        results["memory"] = {name: _memory(server, meters[name]) for name, server in servers.items()}
        results["server_errors"] = [line for server in servers.values() for line in server.error_lines()]
    verdicts = evaluate(results, args)
    print_results(results, verdicts)
    if args.write_docs:
        gunicorn = {name: " ".join(s.options) for name, s in servers.items()}
        print("wrote", write_docs(command=command, args=args, results=results, verdicts=verdicts,
                                  database=database, counts=counts, gunicorn=gunicorn))
    return 0 if all(v["ok"] for v in verdicts) else 1


def _quiet_round(database, args, results, name, measure) -> dict:
    """One round on a quiet machine: wait until other processes use at most --max-others
    of the CPUs, measure, and measure again (up to --retries times) if they took more
    than that during the round; the rounds set aside are listed in the results."""
    for attempt in range(args.retries + 1):
        waited = wait_until_quiet(database.meter_url, args.max_others, args.quiet_timeout)
        done = measure()
        done.update(attempt=attempt + 1, waited_s=waited)
        if done["others_cpu"] <= args.max_others or attempt == args.retries:
            return done
        print(f"    other processes took {done['others_cpu']:.0%} of the CPUs during the round: measuring again")
        results["discarded"].append({"name": name, "others_cpu": done["others_cpu"],
                                     "share_within": done["pins_idle"].get("share_within")})
    return done


def _app_env(url, args, stripe) -> dict:
    return {"MARKETPLACE_CONFIG": "production", "SECRET_KEY": "bench-live-secret-key-0123456789abcdef",
            "DATABASE_URL": url, "REDIS_URL": args.redis_url, "STRIPE_SECRET_KEY": "sk_test_bench",
            "STRIPE_PUBLISHABLE_KEY": "pk_test_bench", "STRIPE_API_BASE": stripe.base}


def _start(stack, env_app, logs, args) -> dict:
    """The real app's services (streams + pages, or one) and the bare yardstick, all ready."""
    streams = events_options(args.workers, args.worker_connections)
    servers = {}
    if args.layout == "split":
        servers["app-events"] = Gunicorn("app-events", "wsgi:app", {**env_app, "GUNICORN_ROLE": "events"}, logs,
                                         streams, "/readyz")
        servers["app-pages"] = Gunicorn("app-pages", "wsgi:app", {**env_app, "GUNICORN_ROLE": "pages"}, logs,
                                        pages_options(args.page_workers, args.threads), "/readyz")
    else:
        servers["app-events"] = Gunicorn("app-events", "wsgi:app", {**env_app, "GUNICORN_ROLE": "all"}, logs,
                                         streams, "/readyz")
    servers["bare"] = Gunicorn("bare", "bench.live_bare_app:app", {"BENCH_REDIS_URL": args.redis_url}, logs,
                               streams, "/healthz")
    for server in servers.values():
        stack.enter_context(server)
    return servers


def _memory(server, meter) -> dict:
    return {"workers_kb": [peak_rss_kb(w.pid) for w in server.workers()], "master_kb": peak_rss_kb(server.proc.pid),
            "total_kb": meter.peak_total_kb}


def _worst_pin(rounds, key):
    return min((r[key]["worst_pin_share"] for r in rounds if r.get(key, {}).get("n")), default=0.0)


def evaluate(results, args) -> list[dict]:
    apps = [r for r in results["rounds"] if r["name"] == "app"]
    enough = args.viewers >= TARGET_VIEWERS
    held = all(r["peak_streaming"] >= args.viewers and r["open_at_stop"] >= args.viewers and not r["errors"]
               for r in apps)
    exact = all(s["database"]["live_units"] == s["database"]["quota"] == s["database"]["sold_counter"] == args.quota
                and s["created"] == args.quota and s["server_errors"] == 0 for s in results["sales"])
    worker_mb = max((kb for name, m in results["memory"].items() if name.startswith("app")
                     for kb in m["workers_kb"]), default=0) / 1024
    pin_rule = f">= {TARGET_SHARE:.0%} of viewers within 1 s, every pin"
    idle, during = _worst_pin(apps, "pins_idle"), _worst_pin(apps, "pins_sale")
    refused = sum(len(s.get("pin_failures", [])) for s in results["sales"])
    return [
        {"name": "viewers held", "rule": f">= {TARGET_VIEWERS:,} streaming for the whole round, no errors",
         "measured": f"{min(r['open_at_stop'] for r in apps):,} of {args.viewers:,}", "ok": held and enough},
        {"name": "pin reaches viewers", "rule": pin_rule, "measured": f"worst pin {idle:.2%}",
         "ok": idle >= TARGET_SHARE and enough},
        {"name": "pin during the flash sale", "rule": pin_rule + ", none refused",
         "measured": f"worst pin {during:.2%}, {refused} refused",
         "ok": during >= TARGET_SHARE and enough and not refused},
        {"name": "flash sale", "rule": "live units sold = quota (database), no 5xx",
         "measured": ", ".join(f"{s['database']['live_units']}/{s['database']['quota']}" for s in results["sales"]),
         "ok": exact},
        {"name": "memory per web worker", "rule": f"peak RSS <= {WORKER_MB} MB (issue 7)",
         "measured": f"{worker_mb:.0f} MB", "ok": worker_mb <= WORKER_MB},
    ]
