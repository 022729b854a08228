"""The results table (terminal and Markdown) and docs/benchmarks.md.

`--write-docs` rewrites the storefront section of docs/benchmarks.md (see bench/docs.py);
analysis written by hand outside the section's markers is kept.
"""
from datetime import datetime, timezone

from .docs import write_section
from .machine import facts as machine_facts
from .sqlite_copy import is_sqlite

HEAD = ("target", "req/s", "req/s range", "p50 ms", "p95 ms", "p99 ms", "errors", "requests", "KiB/page",
        "CPU ms/req", "others' CPU", "worker peak MiB")


def _cells(row):
    rss = row.get("rss_mb")
    return (row["name"], f"{row['rps']:.1f}", f"{row['rps_min']:.0f}–{row['rps_max']:.0f}", f"{row['p50']:.1f}",
            f"{row['p95']:.1f}", f"{row['p99']:.1f}", str(row["errors"]), f"{row['requests']:,}", f"{row['kb']:.1f}",
            f"{row['cpu_ms']:.1f}", f"{row['others']:.0%}", f"{rss:.0f}" if rss else "?")


def print_table(rows, verdicts):
    cells = [HEAD] + [_cells(r) for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(HEAD))]
    for line in cells:
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(line, widths))))
    print()
    for v in verdicts:
        print(f"{'PASS' if v['ok'] else 'FAIL'}  {v['name']:<40} {v['rule']:<20} measured {v['ratio']:.2f}"
              f"   (baseline CPU/request ÷ this page's: {v['cpu_ratio']:.2f})")


def markdown_table(rows):
    lines = ["| " + " | ".join(HEAD) + " |", "|" + "|".join(["---"] + ["---:"] * (len(HEAD) - 1)) + "|"]
    lines += ["| " + " | ".join(_cells(r)) + " |" for r in rows]
    return "\n".join(lines)


def write_docs(path, *, command, args, rows, verdicts, profile, data, engine, gunicorn, problems, url):
    facts = machine_facts(url)
    on_sqlite = is_sqlite(url)
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    out = _intro(command, when, on_sqlite) + ["", "### Results", "", markdown_table(rows), "",
                                   "| target | rule | measured | verdict | baseline CPU per request ÷ this page's |",
                                   "|---|---|---:|---|---:|"]
    out += [f"| {v['name']} | {v['rule']} | {v['ratio']:.2f} | {'PASS' if v['ok'] else '**FAIL**'} | "
            f"{v['cpu_ratio']:.2f} |" for v in verdicts]
    out += ["", _method(args, rows, engine, on_sqlite), ""]
    if problems:
        out += ["Warnings from this run:", ""] + [f"- {p}" for p in problems] + [""]
    out += ["### Setup", "", "| | |", "|---|---|"] + [f"| {k} | {v} |" for k, v in facts.items()]
    app_env = "MARKETPLACE_CONFIG=production SECRET_KEY=bench DATABASE_URL=…"
    cached_env = f"PAGE_CACHE_SECONDS={args.page_cache_seconds:g}" + (
        f" REDIS_URL={args.redis_url}" if args.redis_url else " (in-process cache in each worker)")
    out += [f"| gunicorn settings (every app) | `{' '.join(gunicorn)}`, plus the repo's gunicorn.conf.py, which gunicorn "
            "reads from the working directory (JSON logs, Prometheus multiprocess directory; flags win) |",
            f"| real app, page cache off | `{app_env} PAGE_CACHE_SECONDS=0 gunicorn {args.app}` |",
            f"| real app, page cache on | `{app_env} {cached_env} gunicorn {args.app}` |",
            "| bare app | `BENCH_DATABASE_URL=… gunicorn bench.bare_app:app` |",
            "| hello world | `gunicorn bench.bare_app:hello` |", ""]
    out += ["Data (`bench/seed.py`): " + _data_line(args, data), ""]
    out += _sql_section(profile, on_sqlite)
    return write_section("storefront-sqlite" if on_sqlite else "storefront", "\n".join(out), path)


#: what a SQLite run does differently, said once under its command
_SQLITE_NOTE = [
    "On SQLite: the PostgreSQL database of `--source-url` is seeded exactly as for the PostgreSQL run, then "
    "copied row for row into a SQLite file built by the app's own migrations (`bench/sqlite_copy.py`); every app "
    "and the bare page serve that same file (WAL, as the app configures SQLite). The app's search has no trigram "
    "or n-gram index there: it scans `products.search_text` with `LIKE` (marketplace/catalog/search.py).", "",
]


def _intro(command, when, on_sqlite=False):
    database = "SQLite" if on_sqlite else "PostgreSQL"
    return [
        "## Storefront: catalog, search and product pages against a bare page"
        + (" on SQLite" if on_sqlite else ""), "",
        "What it measures: requests per second and latency of the real storefront pages (production config, "
        "gunicorn), served twice: with the anonymous page cache off, so every request renders its page (what a "
        "logged-in visitor, or the first view after a change, costs), and as in production, page cache on (what "
        "anonymous visitors get). Next to them, served the same way: a bare Flask + Flask-SQLAlchemy page that "
        "selects 24 products joined to their cooperative and renders them with a Jinja template string, and a "
        "bare Flask \"hello world\" (`bench/bare_app.py`). All apps run side by side in one run, from the same "
        f"seeded {database} database, with the same gunicorn settings, and get the same load. The bare pages are "
        "the yardsticks: they show what this machine can do for a one-query Flask page and for Flask itself.", "",
        "Targets: issue 2, catalog and product pages at least 0.8 × the bare page's requests per second, search "
        "p95 no more than 2 × the bare page's p95; issue 7, the cached anonymous catalog page at least 0.5 × the "
        "requests per second of the \"hello world\".", "",
        f"Run on {when}:", "", "```sh", command, "```", "",
        *(_SQLITE_NOTE if on_sqlite else []),
        "Needs PostgreSQL (the database is created if missing; its public schema is dropped and rebuilt with the "
        "app's migrations) and, preferably, `wrk` (`apt-get install -y wrk`; otherwise a slower Python load "
        "generator is used). Add `--reuse-data` to skip seeding when the database already holds the same counts; "
        "`--page-cache off|on` measures one way only, `--redis-url` keeps the cached pages in Redis.",
    ]


def _method(args, rows, engine, on_sqlite=False):
    return (
        f"Each figure is the median of {args.rounds} rounds of {args.duration} s per target (rounds interleave the "
        f"targets, order rotating), after a {args.warmup} s warm-up per target; \"req/s range\" is the lowest and "
        f"highest round. Load: {engine}, {args.concurrency} keep-alive connections, closed loop"
        + (", one generator thread" if engine == "wrk" else "") + ", no Accept-Language (English pages), no "
        "cookies, so every request of the cached targets is an anonymous visitor's. The product targets cycle "
        "through 200 product ids spread over the table: with the page cache each page is rendered again whenever "
        f"its copy is older than {args.page_cache_seconds:g} s" + (" (copies shared in Redis)." if args.redis_url
                                                                  else ", in each of the two workers.")
        + " \"CPU ms/req\" is the CPU time the benchmark's own processes (gunicorn, "
        + ("whose workers run SQLite in-process, " if on_sqlite
           else "the PostgreSQL backends of the benchmark database, ")
        + "the load generator) spent per request: unlike req/s it hardly depends on what else "
        "runs on the machine, and on a saturated two-core machine req/s ≈ 2000 / CPU ms/req. \"others' CPU\" is "
        "the median share of the machine's CPU time that other processes used during a round: the machine is "
        "shared, and this says how much. \"worker peak MiB\" is the largest peak resident memory (VmHWM) of that "
        "app's gunicorn workers over the whole run. " + (
            f"A round starts only once other processes use at most {args.max_others:.0%} of the CPUs (waiting up "
            f"to {args.quiet_timeout} s) and is measured again (up to {args.retries} times) if they took more while "
            f"it ran, or if the CPUs were busy less than {args.min_busy:.0%} of the time (the load saturates the "
            "server, so idle CPUs mean the host held the machine back); "
            f"{sum(r['repeats'] for r in rows)} rounds were measured again in this run."
            if args.max_others < 1 else
            f"In this run rounds waited for a quieter machine only while other processes used more than "
            f"{args.max_others:.0%} of the CPUs (`--max-others {args.max_others:g}`): other sessions' test suites and "
            "benchmarks kept it busy, so the figures were taken next to them."))


def _sql_section(profile, on_sqlite=False):
    if on_sqlite:
        return _sql_counts_section(profile)
    out = ["### SQL per page", "",
           "Each page rendered in-process with the production config and the page cache off: once as a first view "
           "(the catalog memo emptied, so totals are counted) and again within the minute the memo keeps them. "
           "Every first-view statement then ran under `EXPLAIN (ANALYZE, BUFFERS, TIMING OFF)` with its real "
           "parameters (best of 10, warm cache). The query count must not depend on the page number or the "
           "number of hits.", "",
           "| page | queries, first view | queries, again | PostgreSQL ms (first view) | per statement, ms |",
           "|---|---:|---:|---:|---|"]
    for name, info in profile.items():
        per = ", ".join(f"{p['label']} {p['ms']:.2f}" for p in info.get("plans", []))
        out.append(f"| {name} | {info['queries']} | {info['queries_again']} | {info.get('sql_ms', 0):.2f} | {per} |")
    return out


def _sql_counts_section(profile):
    """SQLite: the number of queries per page (the issue's "fixed small number"); timings per statement are
    EXPLAIN ANALYZE's, which SQLite does not have."""
    out = ["### SQL per page", "",
           "Each page rendered in-process with the production config and the page cache off: once as a first view "
           "(the catalog memo emptied, so totals are counted) and again within the minute the memo keeps them. "
           "The query count must not depend on the page number or the number of hits.", "",
           "n/a on SQLite: the database time per statement and its plan (PostgreSQL's `EXPLAIN ANALYZE`); SQLite "
           "runs inside the gunicorn workers, so its time is part of their CPU ms/req above.", "",
           "| page | queries, first view | queries, again | statements (first view) |", "|---|---:|---:|---|"]
    for name, info in profile.items():
        out.append(f"| {name} | {info['queries']} | {info['queries_again']} | {', '.join(info['labels'])} |")
    return out


def _data_line(args, data):
    base = (f"{args.products:,} products across {args.cooperatives:,} cooperatives (one owner account and "
            "membership each), all cooperatives verified and all products active, ~20 % surplus, ~90 % with a "
            "cover photo, bilingual (Chinese + English) titles and descriptions; `VACUUM ANALYZE` after loading.")
    size = "SQLite file" if "copied_rows" in data else "products table with its indexes and TOAST"
    base += (f" Share of products a search finds: 木耳 {data['share_木耳']:.1%}, lily {data['share_lily']:.1%}; "
             f"{data['images']:,} image rows; {size}: {data['size']}.")
    if "seconds" in data:
        base += f" Seeding took {data['seconds']:.0f} s."
    if "copied_rows" in data:
        how = ("kept from an earlier run (`--reuse-data`, same row counts)" if data["copy_seconds"] is None
               else f"copied in {data['copy_seconds']:.0f} s")
        base += f" The SQLite file holds the {data['copied_rows']:,} rows of {data['source']}, {how}; `ANALYZE` after."
    return base
