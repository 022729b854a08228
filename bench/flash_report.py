"""The flash-sale benchmark's terminal summary and its section of docs/benchmarks.md."""
from datetime import datetime, timezone

from .docs import write_section
from .sqlite_copy import is_sqlite, sqlite_path
from .machine import facts as machine_facts


def _verdict(ok):
    return "PASS" if ok else "**FAIL**"


def print_summary(s):
    print()
    print(f"successful checkouts/s (sell-out rate, median): {s['rate']:.1f}  (rounds {s['rate_min']:.1f}–"
          f"{s['rate_max']:.1f})")
    print(f"bare 24-row page req/s (median):                {s['bare_rps']:.1f}  (rounds {s['bare_min']:.1f}–"
          f"{s['bare_max']:.1f})")
    print(f"{'PASS' if s['rate_ok'] else 'FAIL'}  checkouts/s >= {s['min_ratio']} x bare req/s: measured "
          f"{s['ratio']:.2f}")
    print(f"{'PASS' if not s['oversold'] else 'FAIL'}  zero oversell" +
          (f" (wrong in: {', '.join(s['oversold'])})" if s["oversold"] else ""))
    print(f"{'PASS' if s['errors'] == 0 else 'FAIL'}  zero 5xx / failed connections: {s['errors']}")


def _round_rows(rounds):
    head = ("round", "won", "sell-out s", "checkouts/s", "refused before the sell-out", "all answered s", "answers",
            "winners p50/p95 ms",
            "others p50/p95 ms", "paid", "5xx or failed", "DB: stock / reserved / paid / held", "others' CPU")
    lines = ["| " + " | ".join(head) + " |", "|---|" + "---:|" * 5 + "---|---:|---:|---:|---:|---|---:|"]
    for r in rounds:
        c = r["check"]
        answers = ", ".join(f"{k}: {v}" for k, v in sorted(r["codes"].items()))
        lines.append(
            f"| {r['label']} | {r['won']} | {r['sellout_s']:.2f} | {r['rate']:.1f} | {r['lost_early']} | "
            f"{r['burst_s']:.2f} | "
            f"201: {r['won']}, {answers} | {r['won_p50']:.0f} / {r['won_p95']:.0f} | "
            f"{r['lost_p50']:.0f} / {r['lost_p95']:.0f} | {r['paid']} | {r['errors_5xx'] + r['failed'] + r['pay_5xx']} | "
            f"{c['stock']} / {c['reserved']} / {c['paid']} / {c['held']} {'✓' if c['ok'] else '✗'} | "
            f"{r['others']:.0%} |")
    return lines


def _bare_rows(bares):
    lines = ["| round | req/s | p50 ms | p95 ms | errors | requests | CPU ms/req | others' CPU |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for i, b in enumerate(bares, 1):
        lines.append(f"| {i} | {b['rps']:.1f} | {b['p50']:.1f} | {b['p95']:.1f} | {b['errors']} | "
                     f"{b['requests']:,} | {b['cpu_ms']:.1f} | {b['others']:.0%} |")
    return lines


def write_docs(*, command, args, summary, rounds, bares, data, gunicorn, problems, url, profile, source_url=None):
    s, on_sqlite = summary, is_sqlite(url)
    database = "SQLite" if on_sqlite else "PostgreSQL"
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    out = [
        "## Flash sale: 1,000 buyers, 100 units, through the checkout API" + (" on SQLite" if on_sqlite else ""), "",
        f"What it measures: {args.buyers:,} buyers press \"buy\" at the same instant on a product with "
        f"{args.units} units. Each buyer has an API token of their own; " + (
            f"the buyers share {args.connections} keep-alive connections (like a reverse proxy's upstream pool), "
            "each sending its share of the `POST /api/v1/checkouts` (one unit, a shipping address) one after "
            "another from the same instant" if args.connections else
            "each has a keep-alive connection opened before the sale, and every `POST /api/v1/checkouts` (one "
            "unit, a shipping address) is written in the same turn of the load generator's event loop") +
        " (`bench/flash_client.py`, asyncio). The winners then pay "
        "(`POST confirm_url`, the demo provider) and the database is checked. The real app runs the production "
        f"config under gunicorn on {database} (`bench/flash_app.py`: the demo payment provider allowed, and "
        "ProxyFix so that each buyer's `X-Forwarded-For` address counts for the per-address checkout rate limit, "
        "as behind a reverse proxy). Each round sells a fresh product; rounds interleave with the yardstick, "
        "the bare 24-row page (`bench/bare_app.py`) under the same gunicorn settings, loaded by a closed loop "
        f"of {args.concurrency} keep-alive connections for {args.bare_duration} s, the order alternating.", "",
        "**Successful checkouts per second** = units sold in the burst ÷ sell-out time; the sell-out time runs "
        "from the instant the requests were written to the moment the last successful checkout (201) was read. "
        "It is the rate at which the server turns the crowd into reservations while there is stock (the rejected "
        "requests answered meanwhile cost their share). \"All answered\" is the whole burst, until the last of "
        f"the {args.buyers:,} answers. Figures are medians over the rounds.", "",
        "Targets (issue 3): zero oversell, zero 5xx, successful checkouts per second ≥ "
        f"{s['min_ratio']} × the bare page's requests per second measured in the same run.", "",
        *(_sqlite_lines(url, source_url, data) if on_sqlite else []),
        f"Run on {when}:", "", "```sh", command, "```", "",
        "### Results", "",
        "| figure | measured | target | verdict |", "|---|---:|---|---|",
        f"| successful checkouts per second (sell-out rate) | {s['rate']:.1f} (rounds {s['rate_min']:.1f}–"
        f"{s['rate_max']:.1f}) | ≥ {s['min_ratio']} × bare = {s['min_ratio'] * s['bare_rps']:.1f} | "
        f"{_verdict(s['rate_ok'])} |",
        f"| bare 24-row page, requests per second | {s['bare_rps']:.1f} (rounds {s['bare_min']:.1f}–"
        f"{s['bare_max']:.1f}) | (baseline) | |",
        f"| ratio | {s['ratio']:.2f} | ≥ {s['min_ratio']} | {_verdict(s['rate_ok'])} |",
        f"| oversold rounds | {len(s['oversold'])} of {len(rounds)} | 0 | {_verdict(not s['oversold'])} |",
        f"| 5xx answers and failed connections (checkouts and payments) | {s['errors']} | 0 | "
        f"{_verdict(s['errors'] == 0)} |",
        f"| successful checkouts per second over the whole burst | {s['burst_rate']:.1f} | | |",
        f"| answers per second over the whole burst (201 and 409) | {s['answered_per_s']:.1f} | | |",
        f"| CPU ms per request during a sale (checkouts and payments; gunicorn, "
        f"{'SQLite inside gunicorn' if on_sqlite else 'PostgreSQL'}, client) | "
        f"{s['cpu_ms_per_request']:.1f} | bare page: {s['bare_cpu_ms']:.1f} | |", "",
        "Sales, one per round (a fresh product each; \"DB\" is read after the winners paid: stock left, units in "
        "orders that are not cancelled, units in paid orders, units counted against buyers; ✓ = stock 0 and "
        f"exactly {args.units} reserved and paid):", "",
        *_round_rows(rounds), "", "Bare page, one measurement per round:", "", *_bare_rows(bares), "",
        "### Where a checkout's time goes", "",
        "The same requests run in-process one after another (`bench/flash_profile.py`: no HTTP, no concurrency), "
        "counting SQL statements and the CPU time of the Python process per request (median of 3 batches); " + (
            "SQLite runs inside that process, so its work is included. " if on_sqlite else
            "PostgreSQL's own CPU comes on top. ") +
        "CPU time hardly depends on the neighbours, and a request that costs k × the bare page's CPU cannot run "
        "faster than 1/k of its rate once the cores are saturated.", "",
        *_profile_lines(profile), "",
        *(_LOCKS_SQLITE if on_sqlite else _locks_lines(s)), *_reading(s, profile, on_sqlite)]
    if problems:
        out += ["Warnings from this run:", ""] + [f"- {p}" for p in problems] + [""]
    out += ["### Setup", "", "| | |", "|---|---|"]
    out += [f"| {k} | {v} |" for k, v in _facts(url).items()]
    out += [f"| gunicorn settings (both apps) | `{' '.join(gunicorn)}` |",
            f"| real app | `MARKETPLACE_CONFIG=production SECRET_KEY=… DATABASE_URL=… gunicorn {args.app}` |",
            "| bare app | `BENCH_DATABASE_URL=… gunicorn bench.bare_app:app` |",
            f"| stock guard | `UPDATE products SET stock = stock - n WHERE id = … AND stock >= n` and "
            f"`{data['guard']}` |", ""]
    out += [f"Data: the catalog of `bench/seed.py` ({data['products']:,} products, {data['cooperatives']:,} "
            f"cooperatives, all verified and active), {args.buyers:,} buyer accounts with a fresh API token each, "
            f"one product per round copied from a seeded one with {args.units} in stock and no per-buyer limit"
            + (", in the SQLite file." if on_sqlite else "."), ""]
    return write_section("flash-sale-sqlite" if on_sqlite else "flash-sale", "\n".join(out))


_LOCKS_SQLITE = ["Backends waiting for a lock: n/a on SQLite: it has no pg_stat_activity (no server backends; "
                 "writers wait for the database's one write lock inside the gunicorn workers, in SQLite's busy "
                 "handler).", ""]


def _sqlite_lines(url, source_url, data):
    copied = data.get("copied") or {}
    return [f"On SQLite: the app and the bare page serve the same file, `{sqlite_path(url)}`, a copy of the "
            f"seeded PostgreSQL database `{source_url}` ({sum(copied.values()):,} rows in {len(copied)} tables, "
            "`bench/sqlite_copy.py`, schema from the app's migrations); the per-round products and the oversell "
            "check read and write that file. SQLite has one writer at a time: the app begins every checkout and "
            "payment with `BEGIN IMMEDIATE` (busy timeout 30 s), so the crowd's writes take turns. The target is "
            "the one stated for PostgreSQL, held to the same ratio.", ""]


def _locks_lines(s):
    return [
        f"Backends waiting for a lock (pg_stat_activity, sampled every 50 ms): {s['locked_sellout']:.1f} on "
        "average while the stock lasted (median of the rounds; each round's figure is in the log). The "
        "checkout takes the stock last, after writing its checkout, orders, lines and audit record, so the "
        "product's row is locked only from the guarded UPDATE to the COMMIT and the buyers hardly queue for it.",
        ""]


def _facts(url):
    facts = machine_facts(url)
    if is_sqlite(url):
        facts["SQLite settings"] = ("journal_mode=WAL, busy_timeout=30000, foreign_keys=ON, BEGIN IMMEDIATE for "
                                    "writes (marketplace/core/db.py)")
    return facts


def print_profile(profile):
    for name, label in (("won", "checkout, 201"), ("lost", "checkout, 409 sold out"), ("bare", "bare page")):
        p = profile[name]
        print(f"  {label:<24} {p['cpu_ms']:6.1f} ms CPU per request, {p['statements']} SQL statements")


def _profile_lines(profile):
    bare = profile["bare"]["cpu_ms"]
    lines = ["| request | SQL statements | CPU ms per request (this process) | ÷ bare page |", "|---|---:|---:|---:|"]
    for name, label in (("won", "checkout that wins (201)"), ("lost", "checkout refused, sold out (409)"),
                        ("bare", "bare 24-row page")):
        p = profile[name]
        lines.append(f"| {label} | {p['statements']} | {p['cpu_ms']:.1f} | {p['cpu_ms'] / bare:.1f} |")
    lines += ["", "The statements of a winning checkout, in order: " + ", ".join(
        f"`{label}`" for label in profile["won"]["labels"]) + "."]
    return lines


#: before this change: the load test of 2026-11-29 12:09 UTC (same command, same machine), and the
#: in-process profile of that code measured on a quiet machine at 13:46 UTC (bench/flash_profile.py)
BEFORE = {"when": "2026-11-29 12:09 UTC", "rate": 10.2, "bare_rps": 91.8, "ratio": 0.11,
          "profiled": "13:46 UTC", "won_ms": 9.5, "won_statements": 9, "lost_ms": 4.1, "lost_statements": 2,
          "bare_ms": 1.6}


def _before_after(s, profile):
    b, bare = BEFORE, profile["bare"]["cpu_ms"]
    won, lost = profile["won"], profile["lost"]
    return [
        "### Before and after this change", "",
        f"| figure | before (load test {b['when']}; profile {b['profiled']}) | this run |", "|---|---:|---:|",
        f"| successful checkouts per second ÷ bare page's requests per second | {b['ratio']:.2f} "
        f"({b['rate']:.1f} ÷ {b['bare_rps']:.1f}) | {s['ratio']:.2f} ({s['rate']:.1f} ÷ {s['bare_rps']:.1f}) |",
        f"| winning checkout: SQL statements, CPU ms (÷ bare) | {b['won_statements']}, {b['won_ms']:.1f} "
        f"({b['won_ms'] / b['bare_ms']:.1f} ×) | {won['statements']}, {won['cpu_ms']:.1f} "
        f"({won['cpu_ms'] / bare:.1f} ×) |",
        f"| refused checkout (sold out): SQL statements, CPU ms (÷ bare) | {b['lost_statements']}, "
        f"{b['lost_ms']:.1f} ({b['lost_ms'] / b['bare_ms']:.1f} ×) | {lost['statements']}, {lost['cpu_ms']:.1f} "
        f"({lost['cpu_ms'] / bare:.1f} ×) |", "",
        "The in-process figures move with the machine's load (other processes used most of the CPUs during "
        "these runs). Measured back to back, the code before this change (`git archive` of the previous "
        "commit) and after it alternating twice at 14:37 UTC with `bench/flash_profile.py`: winning checkout "
        "8.4 and 12.6 ms before (6.5 × and 7.4 × the bare page measured with it), 5.7 and 6.1 ms after (3.2 × "
        "and 2.8 ×); refused checkout 2.4 × and 3.8 × before, 1.8 × and 2.0 × after. The load test's "
        f"ratio moved less ({s['ratio']:.2f} in this run; 0.14 and 0.14 in two earlier runs of this code at "
        "14:23 and 14:32 UTC; 0.11 before), see below.", "",
        "What changed: the checkout's rows (checkout, orders, lines, audit record) are written with Core "
        "`INSERT … RETURNING id` statements built once per process, instead of ORM objects flushed by the unit of "
        "work (`orders/placing.py`); the API answers from what it wrote (`api/orders.py`, `placed_dict`); the "
        "products are read in one Core query; the per-buyer count is a text `INSERT … ON CONFLICT` (SQLAlchemy "
        "cannot cache the compiled construct and compiled it for every buyer) and the guarded stock `UPDATE` is "
        "built once (`orders/stock.py`); the demo provider names its payment before the checkout is written, "
        "so the `UPDATE checkouts SET payment_intent_id` is gone; the bearer-token query is built once "
        "(`auth/services.py`: its cache key, with loader options, cost more than running it). Every invariant "
        "stays: the guarded single-statement stock update taken last, the per-buyer count, the audit record, "
        "the frozen lines, the reservation expiry, and it runs on SQLite too.", "",
        "With Stripe the PaymentIntent is now created after the reservation is committed "
        "(`payments/services.py`, `_open_intent`): no row lock, connection or transaction is held while Stripe "
        "answers, the intent's id is stored in a short transaction of its own, a webhook that comes first finds "
        "its checkout by the id in the intent's metadata, and a Stripe failure releases the units at once "
        "(`tests/payments/test_intent_outside_transaction.py`). This benchmark uses the demo provider, so that "
        "change does not show in its figures; it removes the network round trip from the lock window.", ""]


def _reading(s, profile, on_sqlite=False):
    """What the figures say about the target, computed from this run's own numbers. (The
    before/after comparison and the py-spy breakdown were measured on PostgreSQL: not on SQLite.)"""
    bare = profile["bare"]["cpu_ms"]
    won, lost = profile["won"]["cpu_ms"] / bare, profile["lost"]["cpu_ms"] / bare
    server = "SQLite's share inside gunicorn (writes, WAL, one writer at a time)" if on_sqlite else \
        "PostgreSQL's share (writes, WAL, the commit's fsync)"
    lines = [*([] if on_sqlite else _before_after(s, profile)), "### Reading the figures", "",
             f"A winning checkout costs {won:.1f} × the bare page's CPU in this process alone, so once the cores "
             f"are saturated successful checkouts cannot come faster than about 1/{won:.1f} = {1 / won:.2f} × the "
             f"bare page's rate, before {server}. While the stock lasts "
             "nearly every request served wins (see \"refused before the sell-out\"), so the sell-out rate is the "
             f"winners' own cost. The target asks for {s['min_ratio']}: a winning checkout could cost at most "
             f"{1 / s['min_ratio']:.1f} × the bare page (CPU of every process: gunicorn, "
             f"{'' if on_sqlite else 'PostgreSQL, '}client), "
             f"while a refused one ({profile['lost']['statements']} statements, no write) costs {lost:.1f} × in "
             "this process alone.", ""]
    if not s["rate_ok"] and not on_sqlite:
        lines += [
            "Where a winner's CPU goes now (py-spy, in-process, this code, shares of the whole request): the "
            "bearer-token query with its user and membership loaded as ORM objects, including the pool checkout "
            "and its pre-ping, about a quarter; the checkout's own seven statements and its commit about a third "
            "(products 7 %, per-buyer count 5 %, the four INSERTs 13 %, stock 3 %, commit 4 %); the rate limiter "
            "about an eighth (its in-memory storage starts a timer thread on a hit); the argument schema about a "
            "tenth; the rest is WSGI, Flask and the app's hooks. Each SQLAlchemy Core statement still costs about "
            "0.2–0.3 ms of Python with its compiled form cached, and the bare page runs one. Under gunicorn a "
            "winner costs more than in-process (HTTP parsing, the JSON access log, metrics, eight threads "
            "sharing two interpreters' GILs), and the crowd's client runs on the same two cores: the CPU per "
            "request during a sale is in the results table beside the bare page's. Reaching 0.4 would take: a "
            "token lookup that loads plain columns instead of three ORM objects (or a short in-process token "
            "cache, which delays revocation); the rate limit kept in Redis as in production, or a limiter "
            "storage without a thread per hit; the four INSERTs in one statement (PostgreSQL can chain them "
            "with `WITH … INSERT … RETURNING`; SQLite cannot, so a second code path); `gc.freeze()` once the "
            "app is loaded in each gunicorn worker (`post_worker_init`: the app's ~200,000 long-lived objects "
            "make each full collection cost tens of milliseconds, about 0.5 ms per checkout here); and no "
            "per-request work an API call does not need (session, CSRF, locale and page-cache hooks).", ""]
    return lines
