"""The results table (terminal and Markdown) and docs/benchmarks.md.

`--write-docs` rewrites the storefront section of docs/benchmarks.md (see bench/docs.py);
analysis written by hand outside the section's markers is kept.
"""
from datetime import datetime, timezone

from .docs import write_section
from .machine import facts as machine_facts

HEAD = ("target", "req/s", "req/s range", "p50 ms", "p95 ms", "p99 ms", "errors", "requests", "KiB/page",
        "CPU ms/req", "others' CPU")


def _cells(row):
    return (row["name"], f"{row['rps']:.1f}", f"{row['rps_min']:.0f}–{row['rps_max']:.0f}", f"{row['p50']:.1f}",
            f"{row['p95']:.1f}", f"{row['p99']:.1f}", str(row["errors"]), f"{row['requests']:,}", f"{row['kb']:.1f}",
            f"{row['cpu_ms']:.1f}", f"{row['others']:.0%}")


def print_table(rows, verdicts):
    cells = [HEAD] + [_cells(r) for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(HEAD))]
    for line in cells:
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(line, widths))))
    print()
    for v in verdicts:
        print(f"{'PASS' if v['ok'] else 'FAIL'}  {v['name']:<28} {v['rule']:<18} measured {v['ratio']:.2f}"
              f"   (bare CPU/request ÷ this page's: {v['cpu_ratio']:.2f})")


def markdown_table(rows):
    lines = ["| " + " | ".join(HEAD) + " |", "|" + "|".join(["---"] + ["---:"] * (len(HEAD) - 1)) + "|"]
    lines += ["| " + " | ".join(_cells(r)) + " |" for r in rows]
    return "\n".join(lines)


def write_docs(path, *, command, args, rows, verdicts, profile, data, engine, gunicorn, problems, url):
    facts = machine_facts(url)
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    out = [
        "## Storefront: catalog, search and product pages against a bare page", "",
        "What it measures: requests per second and latency of the real storefront pages (production config, "
        "gunicorn) next to a bare Flask + Flask-SQLAlchemy page that selects 24 products joined to their "
        "cooperative and renders them with a Jinja template string (`bench/bare_app.py`). Both apps are served "
        "side by side in one run, from the same seeded PostgreSQL database, with the same gunicorn settings, "
        "and get the same load. The bare page is the yardstick: it shows what this machine can do for a "
        "one-query Flask page, so the ratios say what the storefront's extra work costs.", "",
        "Targets: catalog and product pages at least 0.8 × the bare page's requests per second; search p95 "
        "no more than 2 × the bare page's p95.", "",
        f"Run on {when}:", "", "```sh", command, "```", "",
        "Needs PostgreSQL (the database is created if missing; its public schema is dropped and rebuilt with the "
        "app's migrations) and, preferably, `wrk` (`apt-get install -y wrk`; otherwise a slower Python load "
        "generator is used). Add `--reuse-data` to skip seeding when the database already holds the same counts.",
        "", "### Results", "", markdown_table(rows), "",
        "| target | rule | measured | verdict | bare CPU per request ÷ this page's |", "|---|---|---:|---|---:|",
    ]
    out += [f"| {v['name']} | {v['rule']} | {v['ratio']:.2f} | {'PASS' if v['ok'] else '**FAIL**'} | "
            f"{v['cpu_ratio']:.2f} |" for v in verdicts]
    out += ["", f"Each figure is the median of {args.rounds} rounds of {args.duration} s per target (rounds "
            f"interleave the targets, order rotating), after a {args.warmup} s warm-up per target; "
            f"\"req/s range\" is the lowest and highest round. Load: {engine}, {args.concurrency} keep-alive "
            "connections, closed loop" + (", one generator thread" if engine == "wrk" else "") + ", no "
            "Accept-Language (English pages), no cookies. The product target cycles through 200 product ids "
            "spread over the table. \"CPU ms/req\" is the CPU time the benchmark's own processes (gunicorn, "
            "the PostgreSQL backends of the benchmark database, the load generator) spent per request: unlike "
            "req/s it hardly depends on what else runs on the machine, and on a saturated two-core machine "
            "req/s ≈ 2000 / CPU ms/req. \"others' CPU\" is the median share of the machine's CPU time that "
            "processes other than the benchmark (this process, gunicorn, wrk, the PostgreSQL backends of the "
            "benchmark database) used during a round: the machine is shared, and this says how much. " + (
                f"A round starts only once other processes use at most {args.max_others:.0%} of the CPUs (waiting "
                f"up to {args.quiet_timeout} s) and is measured again (up to {args.retries} times) if they took "
                f"more while it ran; {sum(r['repeats'] for r in rows)} rounds were measured again in this run."
                if args.max_others < 1 else
                "In this run rounds did not wait for a quiet machine (`--max-others 1`): other people's test "
                "suites kept it busy for hours, so the figures were taken next to them."), ""]
    if problems:
        out += ["Warnings from this run:", ""] + [f"- {p}" for p in problems] + [""]
    out += ["### Setup", "", "| | |", "|---|---|"] + [f"| {k} | {v} |" for k, v in facts.items()]
    out += [f"| gunicorn settings (both apps) | `{' '.join(gunicorn)}` |",
            f"| real app | `MARKETPLACE_CONFIG=production SECRET_KEY=bench DATABASE_URL=… gunicorn {args.app}` |",
            "| bare app | `BENCH_DATABASE_URL=… gunicorn bench.bare_app:app` |", ""]
    out += ["Data (`bench/seed.py`): " + _data_line(args, data), ""]
    out += ["### SQL per page", "",
            "Each page rendered once in-process with the production config; every statement then run under "
            "`EXPLAIN (ANALYZE, BUFFERS, TIMING OFF)` with its real parameters (best of 10, warm cache). "
            "The query count "
            "must not depend on the page number or the number of hits.", "",
            "| page | queries | PostgreSQL ms (sum) | per statement, ms |", "|---|---:|---:|---|"]
    for name, info in profile.items():
        per = ", ".join(f"{p['label']} {p['ms']:.2f}" for p in info.get("plans", []))
        out.append(f"| {name} | {info['queries']} | {info.get('sql_ms', 0):.2f} | {per} |")
    return write_section("storefront", "\n".join(out), path)


def _data_line(args, data):
    base = (f"{args.products:,} products across {args.cooperatives:,} cooperatives (one owner account and "
            "membership each), all cooperatives verified and all products active, ~20 % surplus, ~90 % with a "
            "cover photo, bilingual (Chinese + English) titles and descriptions; `VACUUM ANALYZE` after loading.")
    base += (f" Share of products a search finds: 木耳 {data['share_木耳']:.1%}, lily {data['share_lily']:.1%}; "
             f"{data['images']:,} image rows; products table with its indexes and TOAST: {data['size']}.")
    if "seconds" in data:
        base += f" Seeding took {data['seconds']:.0f} s."
    return base
