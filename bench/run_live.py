"""The live-room benchmark: thousands of viewers on one show's event stream, the host's
pins reaching them, and a flash sale while they watch.

One gunicorn (gevent workers, production config, Redis fan-out, Stripe through
localstripe) serves the real app; a second gunicorn with the same settings serves the
bare yardstick (bench/live_bare_app.py: Flask + Redis pub/sub + SSE, nothing else).
Rounds interleave the two (the order alternates), each with the same crowd of viewers
from the load generator (bench/live_viewers.py, its own process). In each round of the
real app the host pins products while the viewers watch, then pins the flash item and
every buyer buys at once, while the host keeps pinning. A flash sale on a show nobody
watches, first, is the sale's own baseline.

Targets (issue 4): one 2-core machine holds at least 2,000 concurrent viewers; a pin
reaches 99 % of them within 1 s; the flash sale sells exactly its quota (counted in the
database). Issue 7: peak memory per web worker under load at most 200 MB.
"""
import os
import tempfile
import time
from contextlib import ExitStack

from . import live_seed
from .live_phase import Crowd, latencies, summary
from .live_report import print_results, write_docs
from .live_sale import flash_sale, pin, post_json
from .live_servers import Gunicorn, LocalStripe, MemoryMeter, events_options, pages_options, peak_rss_kb
from .machine import CpuMeter
from .seed import libpq_url

HELP = "live room: 2,000 SSE viewers, pin latency, a flash sale under load, memory"
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/bench_live"
TARGET_VIEWERS, TARGET_SHARE, TARGET_SECONDS, WORKER_MB = 2000, 0.99, 1.0, 200


def add_arguments(p):
    p.add_argument("--database-url", default=DEFAULT_URL,
                   help="PostgreSQL database to (re)build and seed; its public schema is DROPPED (default: %(default)s)")
    p.add_argument("--redis-url", default=os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0",
                   help="Redis for the fan-out, rate limits (default: $REDIS_URL or %(default)s)")
    p.add_argument("--viewers", type=int, default=TARGET_VIEWERS, help="concurrent viewers (default: %(default)s)")
    p.add_argument("--rounds", type=int, default=2, help="interleaved rounds of each app (default: %(default)s)")
    p.add_argument("--pins", type=int, default=8, help="pins per round while viewers watch (default: %(default)s)")
    p.add_argument("--pin-interval", type=float, default=2.0, help="seconds between pins (default: %(default)s)")
    p.add_argument("--buyers", type=int, default=300, help="buyers rushing in each flash sale (default: %(default)s)")
    p.add_argument("--quota", type=int, default=100, help="live quota of the flash item (default: %(default)s)")
    p.add_argument("--layout", choices=("split", "single"), default="split",
                   help="split: event streams on a gevent service, pins and checkouts on a gthread pages service "
                        "(gunicorn.conf.py's production layout); single: one gevent pool for all "
                        "(default: %(default)s)")
    p.add_argument("--workers", type=int, default=2, help="gevent workers of the streams (default: %(default)s)")
    p.add_argument("--worker-connections", type=int, default=5000,
                   help="gunicorn --worker-connections of the gevent workers (default: %(default)s)")
    p.add_argument("--page-workers", type=int, default=2, help="gthread workers of the pages (default: %(default)s)")
    p.add_argument("--threads", type=int, default=4, help="threads per pages worker (default: %(default)s)")
    p.add_argument("--rate", type=float, default=200.0,
                   help="viewers starting to connect per second (default: %(default)s)")
    p.add_argument("--ramp-timeout", type=float, default=300.0,
                   help="longest wait, in seconds, for every viewer to be streaming (default: %(default)s)")
    p.add_argument("--logs", help="folder for the servers' logs (default: a new folder under /tmp, kept)")
    p.add_argument("--write-docs", action="store_true", help="write the results into docs/benchmarks.md")


def run(args, command):
    url = args.database_url
    print(f"seeding {url} ({args.rounds + 1} live shows, {args.buyers} buyers) ...")
    world = live_seed.seed(url, args.rounds + 1, args.buyers, args.quota)
    results = {"rounds": [], "sales": []}
    logs = args.logs or tempfile.mkdtemp(prefix="bench-live-logs-")
    os.makedirs(logs, exist_ok=True)
    print(f"server logs: {logs}")
    with ExitStack() as stack:
        stripe = stack.enter_context(LocalStripe(logs))
        env_app = {"MARKETPLACE_CONFIG": "production", "SECRET_KEY": "bench-live-secret-key-0123456789abcdef",
                   "DATABASE_URL": url, "REDIS_URL": args.redis_url, "STRIPE_SECRET_KEY": "sk_test_bench",
                   "STRIPE_PUBLISHABLE_KEY": "pk_test_bench", "STRIPE_API_BASE": stripe.base}
        servers = _start(stack, env_app, logs, args)
        events, pages, bare = servers["app-events"], servers.get("app-pages", servers["app-events"]), servers["bare"]
        meters = {name: stack.enter_context(MemoryMeter(server.pids)) for name, server in servers.items()}
        print(f"flash sale with nobody watching (baseline): {args.buyers} buyers, quota {args.quota} ...")
        results["sales"].append(_sale(url, pages, world.shows[0], world.buyer_tokens, "nobody watching"))
        for rnd in range(args.rounds):
            order = ("bare", "app") if rnd % 2 == 0 else ("app", "bare")
            for name in order:
                print(f"round {rnd + 1}/{args.rounds}: {name}, {args.viewers} viewers ...")
                if name == "bare":
                    results["rounds"].append(_bare_phase(url, bare, args))
                else:
                    phase = _app_phase(url, events, pages, world.shows[rnd + 1], world.buyer_tokens, args)
                    results["sales"].append(phase.pop("sale"))
                    results["rounds"].append(phase)
        results["memory"] = {name: _memory(server, meters[name]) for name, server in servers.items()}
        results["server_errors"] = [line for server in servers.values() for line in server.error_lines()]
    verdicts = evaluate(results, args)
    print_results(results, verdicts)
    if args.write_docs:
        print("wrote", write_docs(command=command, args=args, results=results, verdicts=verdicts, url=url,
                                  gunicorn={name: " ".join(s.options) for name, s in servers.items()}))
    return 0 if all(v["ok"] for v in verdicts) else 1


def _start(stack, env_app, logs, args) -> dict:
    """The real app's services (one, or streams + pages) and the bare yardstick, all ready."""
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


def _watch(crowd, server, timeout):
    took = crowd.wait_streaming(timeout)
    status = dict(crowd.last)
    print(f"    {status.get('streaming', 0)} of {crowd.viewers} viewers streaming after {took:.1f} s; "
          f"per worker: {sorted(server.connections_per_worker().values())}")
    return took, server.connections_per_worker()


def _bare_phase(url, bare, args) -> dict:
    pins = []
    with CpuMeter(url) as cpu, Crowd(bare.port, "/events", args.viewers, args.rate) as crowd:
        ramp, per_worker = _watch(crowd, bare, args.ramp_timeout)
        for _ in range(args.pins):
            started = time.monotonic()
            _, body = post_json(bare.port, "/pin", {})
            pins.append((started, body["id"]))
            time.sleep(args.pin_interval)
        final = crowd.stop()
    return _phase_result("bare", final, crowd, ramp, per_worker, cpu, pins_idle=latencies(pins, final, args.viewers))


def _app_phase(url, events, pages, show, tokens, args) -> dict:
    pins = []
    path = f"/api/v1/livestreams/{show.show_id}/events"
    with CpuMeter(url) as cpu, Crowd(events.port, path, args.viewers, args.rate) as crowd:
        ramp, per_worker = _watch(crowd, events, args.ramp_timeout)
        for k in range(args.pins):
            product = show.other_product_id if k % 2 == 0 else show.flash_product_id
            pins.append(pin(pages.port, show.show_id, product, show.host_token))
            time.sleep(args.pin_interval)
        idle_count = len(pins)
        sale, during = _sale_while_pinning(url, pages, show, tokens, args)
        pins += during
        time.sleep(args.pin_interval)  # the last pin's stragglers
        final = crowd.stop()
    event_ids = _pin_event_ids(url, show.show_id)
    timed = list(zip(pins, event_ids))
    if len(event_ids) != len(pins):
        raise RuntimeError(f"{len(pins)} pins made but {len(event_ids)} pin events stored")
    result = _phase_result("app", final, crowd, ramp, per_worker, cpu,
                           pins_idle=latencies(timed[:idle_count], final, args.viewers),
                           pins_sale=latencies(timed[idle_count:], final, args.viewers))
    result["sale"] = sale
    return result


def _sale_while_pinning(url, app, show, tokens, args):
    """Pin the flash item, let every buyer buy at once, and keep pinning while they do."""
    import threading

    pins = [pin(app.port, show.show_id, show.flash_product_id, show.host_token)]
    outcome = {}
    rush = threading.Thread(target=lambda: outcome.update(_sale(url, app, show, tokens, "while viewers watch")))
    rush.start()
    while rush.is_alive() or len(pins) < 3:
        time.sleep(args.pin_interval / 2)
        product = show.other_product_id if len(pins) % 2 else show.flash_product_id
        pins.append(pin(app.port, show.show_id, product, show.host_token))
    rush.join()
    return outcome, pins


def _sale(url, app, show, tokens, label) -> dict:
    outcome = flash_sale([app.port], show.show_id, show.flash_product_id, tokens)
    outcome.update(label=label, database=live_seed.sold_in_database(url, show.show_id, show.flash_product_id))
    print(f"    {label}: {outcome['by_status']} in {outcome['seconds']:.1f} s; database: {outcome['database']}")
    return outcome


def _pin_event_ids(url, show_id) -> list[int]:
    import psycopg

    with psycopg.connect(libpq_url(url)) as conn:
        return [r[0] for r in conn.execute("SELECT seq FROM show_events WHERE show_id = %s AND type = 'pin' "
                                           "ORDER BY seq", (show_id,))]


def _phase_result(name, final, crowd, ramp, per_worker, cpu, **pin_sets) -> dict:
    out = {"name": name, "viewers": crowd.viewers, "peak_streaming": crowd.peak_streaming,
           "open_at_stop": final.get("open_at_stop", 0), "errors": final.get("errors", {}), "ramp_s": ramp,
           "per_worker": sorted(per_worker.values()), "generator_rss_kb": final.get("peak_rss_kb", 0),
           "generator_cpu_s": final.get("cpu_seconds", 0.0), "others_cpu": cpu.others, "ours_cpu": cpu.ours}
    for label, per_pin in pin_sets.items():
        out[label] = summary(per_pin, TARGET_SECONDS)
        print(f"    {label.replace('_', ' ')}: {_fmt(out[label])}")
    if out["errors"]:
        print(f"    viewer errors: {out['errors']}")
    return out


def _fmt(s):
    if not s.get("n"):
        return "none"
    return (f"{s['pins']} pins, p50 {s['p50'] * 1000:.0f} ms, p99 {s['p99'] * 1000:.0f} ms, max "
            f"{s['max'] * 1000:.0f} ms, {s['share_within']:.2%} within 1 s (worst pin {s['worst_pin_share']:.2%}), "
            f"{s['missing']} never arrived")


def evaluate(results, args) -> list[dict]:
    apps = [r for r in results["rounds"] if r["name"] == "app"]
    held = all(r["peak_streaming"] >= args.viewers and r["open_at_stop"] >= args.viewers and not r["errors"]
               for r in apps)
    worst = min((r[k]["worst_pin_share"] for r in apps for k in ("pins_idle", "pins_sale") if r.get(k, {}).get("n")),
                default=0)
    sales = results["sales"]
    exact = all(s["database"]["live_units"] == s["database"]["quota"] == s["database"]["sold_counter"] == args.quota
                and s["created"] == args.quota and s["server_errors"] == 0 for s in sales)
    worker_mb = max((kb for name, m in results["memory"].items() if name.startswith("app")
                     for kb in m["workers_kb"]), default=0) / 1024
    return [
        {"name": "viewers held", "rule": f">= {TARGET_VIEWERS} streaming for the whole round, no errors",
         "measured": f"{min(r['open_at_stop'] for r in apps)} of {args.viewers}",
         "ok": held and args.viewers >= TARGET_VIEWERS},
        {"name": "pin reaches viewers", "rule": f">= {TARGET_SHARE:.0%} within {TARGET_SECONDS:.0f} s, every pin",
         "measured": f"worst pin {worst:.2%}", "ok": worst >= TARGET_SHARE and args.viewers >= TARGET_VIEWERS},
        {"name": "flash sale", "rule": "live units sold = quota (database), no 5xx",
         "measured": ", ".join(f"{s['database']['live_units']}/{s['database']['quota']}" for s in sales), "ok": exact},
        {"name": "memory per web worker", "rule": f"peak RSS <= {WORKER_MB} MB (issue 7)",
         "measured": f"{worker_mb:.0f} MB", "ok": worker_mb <= WORKER_MB},
    ]
