"""The flash-sale benchmark: 1,000 buyers press "buy" at the same instant on a product
with 100 units, through the real checkout path (POST /api/v1/checkouts, each buyer with
an API token of their own), served by gunicorn on PostgreSQL with the production config.

Every round: a fresh product with --units in stock; one keep-alive connection per buyer,
opened before the sale; all requests written at once; the winners then pay (demo
provider); the database is checked. Rounds interleave with the yardstick, the bare
24-row page (bench/bare_app.py) under the same gunicorn settings, order rotating.

"Successful checkouts per second" (the figure held to the target) = units sold in the
burst / sell-out time, where the sell-out time runs from the instant the requests were
written to the moment the last successful checkout (201) was read. That is the rate at
which the server turns a crowd into reservations while there is stock; every rejected
request answered in that window took its share of the machine too. The whole burst
(until the last of the 1,000 answers) is reported beside it.

Targets (issue 3): zero oversell (per product: units reserved and paid == --units, stock
0, stock + sold == --units, CHECK (stock >= 0) in place), zero 5xx, and successful
checkouts per second >= 0.4 x the bare page's requests per second.

On SQLite (--database-url sqlite:///PATH) the PostgreSQL --source-url is seeded as for a
PostgreSQL run and copied into the file (bench/sqlite_copy.py); the app, the bare page,
the per-round products and the oversell check all use that file. The app begins each
checkout with BEGIN IMMEDIATE, so the crowd's writes take turns (one writer at a time);
the target is the same. pg_stat_activity has no SQLite counterpart: no lock samples.
"""
import os
import statistics
import tempfile
from contextlib import ExitStack, nullcontext
from urllib.parse import urlsplit

from . import flash_client, flash_data, flash_profile, load, seed, sqlite_copy
from .flash_locks import LockSampler, NoLockSampler
from .flash_report import print_profile, print_summary, write_docs
from .machine import CpuMeter, until_not_held_back, wait_until_quiet
from .run_storefront import GUNICORN, Gunicorn, has_data

HELP = "flash sale: 1,000 buyers race for 100 units through the checkout API, vs the bare page"
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/bench_flash"
MIN_RATIO = 0.4
SQLITE = True  # runs on a SQLite copy of the seeded data too (`python -m bench all`)
ADDRESS = {"name": "李伟 Li Wei", "phone": "13800138000", "province": "Beijing", "city": "Beijing",
           "address": "朝阳路 12 号 3 栋 12 Chaoyang Road, Building 3"}


def add_arguments(p):
    p.add_argument("--database-url", default=DEFAULT_URL,
                   help="PostgreSQL database to (re)build and seed (its public schema is DROPPED), or "
                        "sqlite:///PATH: a SQLite file rebuilt from the seeded --source-url (default: %(default)s)")
    p.add_argument("--source-url", default=DEFAULT_URL,
                   help="with a SQLite --database-url: the PostgreSQL database seeded and copied from "
                        "(default: %(default)s)")
    p.add_argument("--buyers", type=int, default=1000, help="buyers in the crowd (default: %(default)s)")
    p.add_argument("--units", type=int, default=100, help="units on sale per round (default: %(default)s)")
    p.add_argument("--retries", type=int, default=2,
                   help="repeats of a round during which the CPUs sat idle (default: %(default)s)")
    p.add_argument("--min-busy", type=float, default=0.8, metavar="SHARE",
                   help="a bare-page round, or a sale's burst, during which the machine's CPUs were busy less "
                        "than this share is measured again (a sale on a fresh product): both saturate the "
                        "server, so idle CPUs mean the host held the machine back. A sale that oversold or "
                        "answered a 5xx is never set aside (default: %(default)s)")
    p.add_argument("--rounds", type=int, default=7,
                   help="sales (each on a fresh product), interleaved with the bare page (default: %(default)s)")
    p.add_argument("--bare-duration", type=int, default=10,
                   help="seconds of load on the bare page per round (default: %(default)s)")
    p.add_argument("--warmup", type=int, default=5, help="seconds of unmeasured bare load first (default: %(default)s)")
    p.add_argument("--concurrency", type=int, default=8,
                   help="keep-alive connections loading the bare page (default: %(default)s)")
    p.add_argument("--engine", choices=("auto", "wrk", "python"), default="auto",
                   help="bare page load generator: wrk if installed, else Python (default: %(default)s)")
    p.add_argument("--products", type=int, default=20_000, help="catalog products to seed (default: %(default)s)")
    p.add_argument("--cooperatives", type=int, default=400, help="cooperatives to seed (default: %(default)s)")
    p.add_argument("--reuse-data", action="store_true",
                   help="skip seeding when the database already has these catalog counts")
    p.add_argument("--max-others", type=float, default=1.0, metavar="SHARE",
                   help="before each measurement wait until other processes use at most this share of "
                        "the CPUs (default: %(default)s = do not wait)")
    p.add_argument("--quiet-timeout", type=int, default=60,
                   help="longest wait for a quiet machine, seconds (default: %(default)s)")
    p.add_argument("--connections", type=int, default=0,
                   help="connections the crowd shares, each sending its share in turn (a reverse proxy's upstream "
                        "pool); default 0 = one per buyer, every request at once")
    p.add_argument("--timeout", type=float, default=120, help="longest a burst may take, seconds (default: %(default)s)")
    p.add_argument("--app", default="bench.flash_app:app",
                   help="gunicorn app spec of the real app (default: %(default)s)")
    p.add_argument("--write-docs", action="store_true", help="write the results into docs/benchmarks.md")


def source_url(args) -> str:
    """The PostgreSQL database that is seeded: the served one, or the SQLite file's source."""
    return args.source_url if sqlite_copy.is_sqlite(args.database_url) else args.database_url


def prepare(args) -> dict:
    url = source_url(args)
    earlier = flash_data.flash_products(url)  # sold by earlier runs, on top of the seeded catalog
    if args.reuse_data and has_data(url, args.products + earlier, args.cooperatives):
        print(f"reusing the catalog in {url}")
        data = seed.describe(url)
    else:
        print(f"seeding {url} ...")
        data = seed.seed(url, args.products, args.cooperatives)
    flash_data.add_buyers(url, args.buyers)
    if sqlite_copy.is_sqlite(args.database_url):
        data["copied"] = sqlite_copy.copy(url, args.database_url, reuse=args.reuse_data)
    data["guard"] = flash_data.stock_guard(args.database_url)
    if not data["guard"]:
        raise RuntimeError("products has no CHECK (stock >= 0): the schema is not the app's")
    return data


def run(args, command):
    data = prepare(args)
    url = args.database_url
    tokens = flash_data.issue_tokens(url, args.buyers)
    print("profiling one checkout at a time in-process (statements, CPU per request) ...")
    profile = flash_profile.profile(url, tokens)
    print_profile(profile)
    env_app = {"MARKETPLACE_CONFIG": "production", "SECRET_KEY": "bench-flash", "DATABASE_URL": url}
    rounds, bares = [], []
    with tempfile.TemporaryDirectory(prefix="bench-logs-") as logs, ExitStack() as stack:
        app = stack.enter_context(Gunicorn(args.app, env_app, "/healthz", logs))
        bare = stack.enter_context(Gunicorn("bench.bare_app:app", {"BENCH_DATABASE_URL": url}, "/bare", logs))
        print(f"warming up: {args.warmup}s of bare page, one small sale on the app ...")
        load.run(bare.base, ["/bare"], args.warmup, args.concurrency, args.engine)
        sale(args, app, tokens[:min(64, len(tokens))], units=16, label="warm-up")
        for rnd in range(args.rounds):
            steps = ("bare", "sale") if rnd % 2 == 0 else ("sale", "bare")
            for step in steps:
                wait_until_quiet(url, args.max_others, args.quiet_timeout)
                if step == "bare":
                    bares.append(measure_bare(args, bare))
                    print(f"  round {rnd + 1}/{args.rounds} bare page   {bares[-1]['rps']:8.1f} req/s  "
                          f"p95 {bares[-1]['p95']:.1f} ms  errors {bares[-1]['errors']}  "
                          f"others' CPU {bares[-1]['others']:.0%}")
                else:
                    rounds.append(sale_on_a_working_machine(args, app, tokens, label=f"round {rnd + 1}"))
                    print_round(rnd, args, rounds[-1])
        server_errors = _log_errors([app.log_path, bare.log_path])
    summary = summarise(args, rounds, bares)
    print_summary(summary)
    if args.write_docs:
        path = write_docs(command=command, args=args, summary=summary, rounds=rounds, bares=bares, data=data,
                          gunicorn=GUNICORN, problems=server_errors, url=url, profile=profile,
                          source_url=source_url(args))
        print(f"wrote {path}")
    return 0 if summary["ok"] else 1


def measure_bare(args, bare) -> dict:
    return until_not_held_back(lambda: _bare_round(args, bare), args.min_busy, args.retries, "the bare page's round")


def _bare_round(args, bare) -> dict:
    with CpuMeter(args.database_url) as meter:
        result = load.run(bare.base, ["/bare"], args.bare_duration, args.concurrency, args.engine)
    result.update(others=meter.others, cpu_ms=meter.ours_seconds * 1000 / max(result["requests"], 1),
                  busy=meter.busy)
    return result


def sale_on_a_working_machine(args, app, tokens, label) -> dict:
    """A sale whose burst had the CPUs (machine.held_back); one held back is sold again
    on a fresh product, up to --retries times, unless it went wrong (kept, to be seen).
    Not on SQLite: its writers take turns, sleeping in SQLite's busy handler, so idle
    CPUs there are the sale's own."""
    def one_sale():
        return sale(args, app, tokens, args.units, label)

    if sqlite_copy.is_sqlite(args.database_url):
        return one_sale()
    return until_not_held_back(one_sale, args.min_busy, args.retries, "the sale's burst", keep=_went_wrong)


def _went_wrong(result) -> bool:
    return not result["check"]["ok"] or bool(result["errors_5xx"] or result["pay_5xx"] or result["failed"])


def sale(args, app, tokens, units, label) -> dict:
    """One flash sale on a fresh product: the burst, then the winners pay, then the
    database is checked. Returns the round's figures."""
    product_id = flash_data.new_flash_product(args.database_url, units, label)
    sampler = NoLockSampler() if sqlite_copy.is_sqlite(args.database_url) else LockSampler(args.database_url)
    burst_meter = CpuMeter(args.database_url)
    with CpuMeter(args.database_url) as meter, sampler as locks:
        result = _sale(app, tokens, product_id, args.timeout, args.connections, burst_meter)
    sold_out, answered = result["start"] + result["sellout_s"], result["start"] + result["burst_s"]
    result["locked_sellout"] = locks.mean_waiting(result["start"], sold_out)
    result["locked_after"] = locks.mean_waiting(sold_out, answered)
    result["check"] = flash_data.check_round(args.database_url, product_id, units)
    result.update(label=label, units=units, product_id=product_id, others=meter.others,
                  cpu_seconds=meter.ours_seconds, busy=burst_meter.busy)  # (busy: during the burst)
    return result


def _sale(app, tokens, product_id, timeout, connections=0, burst_meter=None) -> dict:
    host = f"127.0.0.1:{app.port}"
    body = {"items": [{"product_id": product_id, "quantity": 1}], "shipping_address": ADDRESS}
    requests = [flash_client.request_bytes("POST", "/api/v1/checkouts", host, _headers(i, token), body)
                for i, token in enumerate(tokens)]
    start, answers = _burst(app.port, requests, timeout, connections, burst_meter)
    # the winners pay, on new connections (the sale's may have idled past gunicorn's keep-alive)
    won = [(i, a) for i, a in enumerate(answers) if a.status == 201]
    pay_requests = [flash_client.request_bytes(
        "POST", urlsplit(a.json()["payment"]["confirm_url"]).path, host, _headers(i, tokens[i])) for i, a in won]
    pay_start, paid = _burst(app.port, pay_requests, timeout, connections)
    return _figures(start, answers, pay_start, paid)


def _burst(port, requests, timeout, connections=0, meter=None):
    """(`meter`, a CpuMeter, measures the requests and answers, not the connections' opening)"""
    count = min(connections, len(requests)) if connections > 0 else len(requests)
    conns = flash_client.open_all("127.0.0.1", port, count)
    try:
        with meter or nullcontext():
            return flash_client.burst(conns, requests, timeout)
    finally:
        for conn in conns:
            conn.close()


def _headers(i, token):
    # one address per buyer (10.x.y.z), as a reverse proxy would report it
    return {"Authorization": f"Bearer {token}", "X-Forwarded-For": f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}"}


def _figures(start, answers, pay_start, paid) -> dict:
    won = [a for a in answers if a.status == 201]
    lost = [a for a in answers if a.status != 201]
    codes = {}
    for a in lost:
        body = a.json() or {}
        key = f"{a.status} {body.get('error', {}).get('code', '') if isinstance(body, dict) else ''}".strip()
        codes[key] = codes.get(key, 0) + 1
    sellout = max((a.done for a in won), default=start) - start
    lost_early = sum(1 for a in lost if a.done - start < sellout)  # refused while stock was left
    burst = max(a.done for a in answers) - start
    ms = lambda xs, q: _pct(sorted((a.done - start) * 1000 for a in xs), q)  # noqa: E731
    return {"start": start, "requests": len(answers), "won": len(won), "codes": codes, "lost_early": lost_early,
            "errors_5xx": sum(1 for a in answers if a.status >= 500), "failed": sum(1 for a in answers if a.status == 0),
            "sellout_s": sellout, "burst_s": burst, "rate": len(won) / sellout if sellout > 0 else 0.0,
            "burst_rate": len(won) / burst, "answered_per_s": len(answers) / burst,
            "won_p50": ms(won, 50), "won_p95": ms(won, 95), "lost_p50": ms(lost, 50), "lost_p95": ms(lost, 95),
            "paid": sum(1 for a in paid if a.status == 200 and (a.json() or {}).get("status") == "paid"),
            "pay_5xx": sum(1 for a in paid if a.status >= 500 or a.status == 0),
            "pay_s": (max((a.done for a in paid), default=pay_start) - pay_start)}


def _pct(values, q):
    if not values:
        return float("nan")
    return values[min(len(values) - 1, max(0, round(q / 100 * len(values) + 0.5) - 1))]


def print_round(rnd, args, r):
    check = r["check"]
    print(f"  round {rnd + 1}/{args.rounds} flash sale   {r['won']} won in {r['sellout_s']:.2f} s = "
          f"{r['rate']:.1f} checkouts/s; all {r['requests']} answered in {r['burst_s']:.2f} s; "
          f"answers {r['codes']} 5xx {r['errors_5xx'] + r['pay_5xx']}; paid {r['paid']}; "
          f"db: stock {check['stock']}, reserved {check['reserved']}, paid {check['paid']} "
          f"{'OK' if check['ok'] else 'OVERSOLD/WRONG'}; {_locks_text(r)}; others' CPU {r['others']:.0%}")


def _locks_text(r):
    if r["locked_sellout"] != r["locked_sellout"]:  # NaN: not sampled (SQLite)
        return "lock waits not sampled"
    return f"waiting for a lock: {r['locked_sellout']:.1f} backends while stock lasted, {r['locked_after']:.1f} after"


def summarise(args, rounds, bares) -> dict:
    med = lambda rows, key: statistics.median(r[key] for r in rows)  # noqa: E731
    rate, bare_rps = med(rounds, "rate"), med(bares, "rps")
    errors = sum(r["errors_5xx"] + r["pay_5xx"] + r["failed"] for r in rounds)
    oversold = [r["label"] for r in rounds if not r["check"]["ok"] or r["won"] != args.units]
    ratio = rate / bare_rps if bare_rps else 0.0
    return {"rate": rate, "rate_min": min(r["rate"] for r in rounds), "rate_max": max(r["rate"] for r in rounds),
            "burst_rate": med(rounds, "burst_rate"), "answered_per_s": med(rounds, "answered_per_s"),
            "sellout_s": med(rounds, "sellout_s"), "burst_s": med(rounds, "burst_s"),
            "bare_rps": bare_rps, "bare_min": min(b["rps"] for b in bares), "bare_max": max(b["rps"] for b in bares),
            "bare_cpu_ms": med(bares, "cpu_ms"), "ratio": ratio, "locked_sellout": med(rounds, "locked_sellout"), "errors": errors, "oversold": oversold,
            "cpu_ms_per_request": statistics.median(r["cpu_seconds"] * 1000 / (r["requests"] + r["won"])
                                                    for r in rounds),
            "rate_ok": ratio >= MIN_RATIO, "ok": ratio >= MIN_RATIO and errors == 0 and not oversold,
            "min_ratio": MIN_RATIO}


def _log_errors(paths):
    found = []
    for path in paths:
        with open(path, encoding="utf-8", errors="replace") as fh:
            lines = [ln.strip() for ln in fh if "Traceback" in ln or "[ERROR]" in ln or "WORKER TIMEOUT" in ln]
        if lines:
            found.append(f"{os.path.basename(path)}: {len(lines)} error lines, first: {lines[0][:200]}")
    return found

