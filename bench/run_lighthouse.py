"""The Lighthouse benchmark: performance and accessibility scores, mobile profile, of
the home, catalog, product and live-room pages of the demo, served by gunicorn as in
production (bench/lighthouse_pages.py, shared with tests/lighthouse).

Target (issue 8): performance and accessibility at least 90 on each page.

Baseline: a bare HTML page (a heading and a paragraph, no CSS, script or image) served
on loopback and measured in the same rounds: what Lighthouse's simulated phone and
network give a page that costs nothing, so each page's timings read against that floor.
Every page (and the baseline) is measured --runs times, round-robin; the table shows
the median run (by performance score), the spread of the scores, and how much of the
CPUs other processes took during the page's runs.
"""
import functools
import http.server
import os
import statistics
import subprocess
import threading
from contextlib import contextmanager
from datetime import datetime, timezone

from . import lighthouse_pages as lp
from .docs import write_section

HELP = "Lighthouse (mobile) on home, catalog, product and live room: performance and accessibility >= 90"
BARE = "bare page"
BARE_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Bare page</title><meta name="description" content="The Lighthouse baseline: nothing to load."></head>
<body><main><h1>Rural Goods Market</h1><p>A bare page: one heading, one paragraph.</p></main></body></html>
"""
BEFORE = """Before the fixes (same command, one run, 2026-11-29): home 100/99, catalog 100/99, product 100/100,
**live room 65**/100 (FCP 4.4 s, LCP 5.5 s, TBT 150 ms, 677 KiB: hls.js, 610 KiB uncompressed, was a
parser-blocking script and nothing was compressed; the first view after gunicorn started also took 1 s
to render, which the warm-up now keeps out of the measurement). Fixed: pages, CSS and JavaScript are
compressed (Flask-Compress, `marketplace/core/compression.py`; the page cache keeps the compressed copy per
Accept-Encoding), the room's scripts and the home page's are `defer`, live.js fetches hls.js only after the
room has loaded and painted (the title, pinned product and buy button first), /vendor/hls.min.js serves
hls.js's light build (389 instead of 624 KiB to parse: no alternate audio, subtitles or DRM, which rooms do not
use; hls.js's start-up was the longest task on the page), the product gallery offers the
thumb/medium/large WebP derivatives by `srcset` with `fetchpriority="high"` on the first picture, and
product cards' pictures have `alt=""` (the card's title in the same link already names them)."""


def add_arguments(p):
    p.add_argument("--runs", type=int, default=5,
                   help="Lighthouse runs per page; the median is reported (default: %(default)s)")
    p.add_argument("--database-url",
                   help="the database for the demo, PostgreSQL or sqlite:///PATH: its tables are DROPPED "
                        "(default: SQLite in a temporary folder)")
    p.add_argument("--reports", default=os.path.join(lp.ROOT, "test-artifacts", "lighthouse", "bench"),
                   help="where the JSON and HTML reports go (default: %(default)s)")
    p.add_argument("--max-others", type=float, default=0.5, metavar="SHARE",
                   help="before each run, wait until other processes use at most this share of the CPUs "
                        "(default: %(default)s)")
    p.add_argument("--quiet-timeout", type=int, default=30,
                   help="longest wait for that before each run, s (default: %(default)s)")
    p.add_argument("--write-docs", action="store_true", help="write the results into docs/benchmarks.md")


@contextmanager
def bare_page(folder):
    """BARE_HTML on a loopback port (a thread of this process)."""
    with open(os.path.join(folder, "index.html"), "w", encoding="utf-8") as fh:
        fh.write(BARE_HTML)
    handler = functools.partial(_QuietHandler, directory=folder)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def run(args, command):
    reason = lp.missing()
    if reason:
        print(f"cannot run: {reason}")
        return 2
    meter_url = args.database_url or ""
    with lp.scratch_dir() as workdir:
        print("seeding the demo and starting gunicorn ...")
        with lp.demo_site(workdir, args.database_url) as site:
            bare_dir = os.path.join(workdir, "bare")
            os.makedirs(bare_dir)
            with bare_page(bare_dir) as bare_url:
                urls = {**site.urls(), BARE: bare_url}
                results = lp.run_pages(urls, args.reports, runs=args.runs, meter_url=meter_url,
                                       max_others=args.max_others, quiet_timeout=args.quiet_timeout)
    rows = [_row(page, runs, results[BARE]) for page, runs in results.items()]
    pages = {page: runs for page, runs in results.items() if page != BARE}
    problems = lp.failures(pages)
    table = _markdown(rows) + "\n\n" + _verdicts(pages, results[BARE])
    print()
    print(table)
    print()
    print("\n".join(problems) if problems else f"PASS  every page scores >= {lp.MIN_SCORE} in both categories")
    if args.write_docs:
        path = write_section("lighthouse", _docs(command, args, table, problems))
        print(f"wrote {path}")
    return 1 if problems else 0


def _row(page, runs, bare_runs):
    chosen, bare = lp.median_run(runs), lp.median_run(bare_runs)
    m = chosen.metrics
    perf, acc = lp.spread(runs, "performance"), lp.spread(runs, "accessibility")
    others = statistics.median(r.others for r in runs)
    return {"page": page, "performance": chosen.scores["performance"], "perf range": f"{perf[0]}–{perf[2]}",
            "accessibility": chosen.scores["accessibility"], "acc range": f"{acc[0]}–{acc[2]}",
            "FCP s": f"{m['FCP'] / 1000:.2f}", "LCP s": f"{m['LCP'] / 1000:.2f}",
            "LCP ÷ bare": f"{m['LCP'] / bare.metrics['LCP']:.2f}", "TBT ms": f"{m['TBT']:.0f}",
            "CLS": f"{m['CLS']:.3f}", "Speed Index s": f"{m['Speed Index'] / 1000:.2f}",
            "transfer KiB": f"{m['transfer'] / 1024:.0f}", "others' CPU": f"{others:.0%}"}


def _verdicts(pages, bare_runs):
    """The target per page and category, in the form `python -m bench all` collects."""
    bare = lp.median_run(bare_runs).scores
    lines = ["| figure | measured (median) | runs' range | target | baseline, same run | verdict |",
             "|---|---:|---:|---|---|---|"]
    for page, runs in pages.items():
        chosen = lp.median_run(runs)
        for category in lp.CATEGORIES:
            low, _, high = lp.spread(runs, category)
            ok = chosen.scores[category] >= lp.MIN_SCORE
            lines.append(f"| {page} {category} | {chosen.scores[category]} | {low}–{high} | ≥ {lp.MIN_SCORE} | "
                         f"bare page: {bare[category]} | {'PASS' if ok else '**FAIL**'} |")
    return "\n".join(lines)


def _markdown(rows):
    head = list(rows[0])
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|"]
    lines += ["| " + " | ".join(str(r[k]) for k in head) + " |" for r in rows]
    return "\n".join(lines)


def _versions():
    def first_line(cmd):
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
            return (done.stdout or done.stderr).strip().splitlines()[0]
        except (OSError, subprocess.TimeoutExpired, IndexError):
            return "?"
    return first_line([lp.LIGHTHOUSE, "--version"]), first_line([lp.CHROMIUM, "--version"])


def _docs(command, args, table, problems):
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lighthouse, chromium = _versions()
    verdict = (f"**FAIL**: a page scores under {lp.MIN_SCORE} (median run):\n\n```\n" + "\n".join(problems) + "\n```"
               if problems else
               f"PASS: every page scores at least {lp.MIN_SCORE} in performance and accessibility (median run).")
    return f"""## Lighthouse: home, catalog, product, live room (mobile)

`{command}` ({when}; Lighthouse {lighthouse}, {chromium}, {os.cpu_count()} CPU cores shared with other work).
The same pages, 3 runs each, are asserted by `pytest tests/lighthouse` (reports in `test-artifacts/lighthouse/`).

{table}

{verdict}

How it is measured: the demo data (`python -m marketplace.demo`'s: 35 products with pictures, a show live now
with a pinned product and chat) in a fresh {'PostgreSQL' if args.database_url else 'SQLite'} database, served by
gunicorn with the repo's gunicorn.conf.py (gthread workers, the production settings; the in-process page cache
answers anonymous storefront pages, as in production), warmed up by a few views of each page first. Lighthouse
runs with its defaults (`--form-factor=mobile`: a Moto G Power-sized screen, simulated slow 4G at 150 ms RTT and
1.6 Mbit/s, 4x CPU slowdown) and `--only-categories=performance,accessibility`, against Debian's Chromium
(`--headless=new --no-sandbox`). The product is the pinned one of the live show, the live room is that show's.
Each row is the run with the median performance score of the page's {args.runs} (pages measured round-robin, so
a busy spell on the machine falls on all of them alike); its metrics (First/Largest Contentful Paint, Total
Blocking Time, Cumulative Layout Shift, Speed Index, bytes transferred) are that run's. "LCP ÷ bare" divides by
the LCP of the bare page (a heading and a paragraph, served on loopback) in the same run: the simulated phone's
floor. "others' CPU" is the median share of the CPUs other processes took during the page's runs.

Why the median and not the best run: simulated throttling multiplies the CPU time Chromium really spent by 4, so
a neighbour's CPU burst on this shared 2-core machine inflates a run's TBT and LCP (a 2 KiB script showed up as a
200 ms task in a run next to five other test suites). Before each run the runner therefore waits, at most
{args.quiet_timeout} s, until other processes use at most {args.max_others:.0%} of the CPUs, and records what
they took. The best of N would then still hide a page that is slow half the time; the worst would fail a page
for a neighbour's burst. The median of 3 (test) or {args.runs} (here) is Lighthouse's own advice for variable
environments, and a page passes only when most of its runs do. The "range" columns show the spread; next to
five other test suites (75–90% of the CPUs taken) the live room's runs ranged 80–100 with the full hls.js build
(its start-up was the longest task on the page), hence the light build.

{BEFORE}

Not done: the catalog's first product pictures are lazy-loaded like the rest (Lighthouse notes it; the cards come
from a fragment cache that keeps one HTML per card whatever its position), and static files carry no fingerprint
(in production nginx serves /static/ with `expires 1h`, docs/deploy.md).
"""
