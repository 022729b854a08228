"""Lighthouse on the storefront's four key pages, shared by tests/lighthouse and
`python -m bench lighthouse`: one copy of the serving, the runs and the scoring.

The site is the demo (marketplace/demo/seed.py: five cooperatives, 35 products with
their pictures, one show live now) seeded into a fresh database of its own and served
by gunicorn with the repo's gunicorn.conf.py (pages role: gthread workers), as in
production, so the page timings Lighthouse sees are the real server's, not the
single-threaded development server's. Lighthouse (npm, node_modules) drives Debian's
Chromium with its default mobile profile (Moto G Power screen, simulated slow 4G and
4x CPU slowdown).
"""
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHROMIUM = "/usr/bin/chromium"
LIGHTHOUSE = os.path.join(ROOT, "node_modules", ".bin", "lighthouse")
PAGES = ("home", "catalog", "product", "live room")
CATEGORIES = ("performance", "accessibility")
MIN_SCORE = 90
#: the figures shown per run, by Lighthouse audit id
METRICS = {"FCP": "first-contentful-paint", "LCP": "largest-contentful-paint", "TBT": "total-blocking-time",
           "CLS": "cumulative-layout-shift", "Speed Index": "speed-index", "transfer": "total-byte-weight"}
ENV_DB, ENV_UPLOADS = "LIGHTHOUSE_DATABASE_URL", "LIGHTHOUSE_UPLOAD_FOLDER"


def missing() -> str | None:
    """Why Lighthouse cannot run here, or None."""
    if not os.path.exists(CHROMIUM):
        return f"Chromium not found at {CHROMIUM} (apt-get install -y chromium)"
    if not os.path.exists(LIGHTHOUSE):
        return f"Lighthouse not found at {LIGHTHOUSE} (npm ci)"
    if not shutil.which("node"):
        return "node not found (Lighthouse runs on Node.js)"
    return None


# --- the served demo site ------------------------------------------------------

def demo_app():
    """gunicorn's app factory (`bench.lighthouse_pages:demo_app()`): the demo config on
    the database and upload folder the parent process seeded."""
    from marketplace import create_app

    return create_app("demo", SQLALCHEMY_DATABASE_URI=os.environ[ENV_DB], UPLOAD_FOLDER=os.environ[ENV_UPLOADS])


def seed_demo() -> dict:
    """In an app context on an empty database: the demo data; returns the four pages' paths
    (the product is the one pinned in the live show)."""
    from sqlalchemy import select

    from marketplace.demo.seed import seed
    from marketplace.extensions import db
    from marketplace.livestream.models import Show, ShowStatus
    from marketplace.livestream.services import current_pin

    seed()
    show = db.session.scalars(select(Show).where(Show.status == ShowStatus.live)).first()
    pinned = next(i for i in show.items if i.id == current_pin(show).item_id)
    return {"home": "/", "catalog": "/products", "product": f"/products/{pinned.product_id}",
            "live room": f"/shows/{show.id}"}


def _seed_and_print_paths():
    """Run in a child process (bench): a fresh schema by the migrations, the demo, the paths as JSON."""
    from flask_migrate import upgrade
    from sqlalchemy import MetaData, text

    from marketplace.extensions import db

    with demo_app().app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        else:  # a SQLite file from an earlier run: every table goes (their triggers with them)
            existing = MetaData()
            existing.reflect(db.engine)
            existing.drop_all(db.engine)
        upgrade()
        print(json.dumps(seed_demo()))


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Site:
    base: str
    paths: dict
    log_path: str

    def url(self, page):
        return self.base + self.paths[page]

    def urls(self):
        return {page: self.url(page) for page in self.paths}


def _site_env(database_url, upload_folder):
    env = {**os.environ, "MARKETPLACE_CONFIG": "demo", ENV_DB: database_url, ENV_UPLOADS: upload_folder,
           "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
    for name in ("REDIS_URL", "DATABASE_URL"):  # self-contained: in-process page cache and rate limits
        env.pop(name, None)
    return env


@contextmanager
def demo_site(workdir, database_url=None):
    """The demo seeded into a fresh database (default: SQLite in workdir; a PostgreSQL or
    SQLite URL given is emptied first) and served; yields a Site."""
    database_url = database_url or "sqlite:///" + os.path.join(workdir, "demo.db")
    uploads = os.path.join(workdir, "uploads")
    seeded = subprocess.run([sys.executable, "-c", "import bench.lighthouse_pages as m; m._seed_and_print_paths()"],
                            cwd=ROOT, env=_site_env(database_url, uploads), capture_output=True, text=True,
                            timeout=600)
    if seeded.returncode:
        raise RuntimeError(f"seeding the demo failed:\n{seeded.stderr[-3000:]}")
    with serve(workdir, database_url, uploads, json.loads(seeded.stdout.strip().splitlines()[-1])) as site:
        yield site


@contextmanager
def serve(workdir, database_url, upload_folder, paths):
    """An already seeded database served by gunicorn, with the repo's gunicorn.conf.py (the
    production settings, read from the working directory) on a free loopback port."""
    port = _free_port()
    log_path = os.path.join(workdir, "gunicorn.log")
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--error-logfile",
                             log_path, "bench.lighthouse_pages:demo_app()"], cwd=ROOT,
                            env=_site_env(database_url, upload_folder), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    site = Site(f"http://127.0.0.1:{port}", paths, log_path)
    try:
        _wait_until_up(proc, site)
        _warm_up(site)
        yield site
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_until_up(proc, site, timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited; see {site.log_path}")
        try:
            with urllib.request.urlopen(site.url("home"), timeout=5) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"gunicorn did not come up in {timeout} s; see {site.log_path}")


def _warm_up(site, rounds=6):
    """Each page a few times before measuring, so every worker has compiled its templates
    and opened its database connections: a server in use is warm, and the first view
    after a start (a second or more of template compiling) is not what visitors get."""
    for _ in range(rounds):
        for page in site.paths:
            with urllib.request.urlopen(site.url(page), timeout=30) as resp:
                resp.read()


# --- Lighthouse runs -----------------------------------------------------------

@dataclass
class Run:
    """One Lighthouse run of one page."""
    page: str
    scores: dict  # category -> 0..100
    metrics: dict  # METRICS name -> numeric value (ms, unitless CLS, bytes)
    failing: list  # (category, audit id, title, display value) of audits scoring < 1
    report_json: str
    report_html: str
    seconds: float
    others: float = float("nan")  #: share of the CPUs other processes used during the run


def lighthouse(url, out_base, timeout=240) -> dict:
    """Run Lighthouse once on url; writes out_base.report.json/.html; returns the JSON."""
    env = {**os.environ, "CHROME_PATH": CHROMIUM}
    cmd = [LIGHTHOUSE, url, "--only-categories=" + ",".join(CATEGORIES), "--output=json", "--output=html",
           f"--output-path={out_base}", "--quiet",
           # the mobile profile and simulated throttling are Lighthouse's defaults (not overridden here)
           "--chrome-flags=--headless=new --no-sandbox --disable-gpu --no-first-run --disable-background-networking "
           "--disable-component-update --disable-sync --disable-quic"]
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    if done.returncode:
        raise RuntimeError(f"lighthouse failed on {url} ({done.returncode}):\n{done.stderr[-3000:]}")
    with open(out_base + ".report.json", encoding="utf-8") as fh:
        report = json.load(fh)
    if report.get("runtimeError"):
        raise RuntimeError(f"lighthouse on {url}: {report['runtimeError']}")
    return report


def summarize(page, report, out_base, seconds) -> Run:
    cats = report["categories"]
    audits = report["audits"]
    scores = {c: round((cats[c]["score"] or 0) * 100) for c in CATEGORIES}
    metrics = {name: audits[aid].get("numericValue") for name, aid in METRICS.items()}
    failing = []
    for c in CATEGORIES:  # the weighted audits (they cost points) first, then the insights
        for ref in sorted(cats[c]["auditRefs"], key=lambda r: -(r.get("weight") or 0)):
            audit = audits[ref["id"]]
            if _short_of_full_marks(audit) and (ref.get("weight") or audit.get("details")):
                failing.append((c, ref["id"], audit["title"], audit.get("displayValue", "")))
    return Run(page, scores, metrics, failing, out_base + ".report.json", out_base + ".report.html", seconds)


def _short_of_full_marks(audit) -> bool:
    scored = audit.get("scoreDisplayMode") in ("binary", "numeric", "metricSavings")
    return scored and audit.get("score") is not None and audit["score"] < 1


def run_pages(urls: dict, outdir, runs=3, progress=print, meter_url="", max_others=0.5, quiet_timeout=10) -> dict:
    """Lighthouse `runs` times on each of urls ({page: url}), the pages interleaved
    (round-robin) so that a busy spell of the shared machine falls on every page alike;
    returns {page: [Run]}. Before each run it waits (at most quiet_timeout seconds) until
    other processes use at most max_others of the CPUs: simulated throttling multiplies
    the CPU time Chromium really took by 4, so a neighbour's burst would count as the
    page's own work. Each run records the share of the CPUs other processes took
    meanwhile (bench.machine.CpuMeter; Lighthouse, Chromium and gunicorn are ours)."""
    from .machine import CpuMeter, wait_until_quiet

    os.makedirs(outdir, exist_ok=True)
    results = {page: [] for page in urls}
    for n in range(1, runs + 1):
        for page, url in urls.items():
            base = os.path.join(outdir, f"{re.sub(r'[^a-z]+', '-', page)}-run{n}")
            wait_until_quiet(meter_url, max_others, quiet_timeout, log=lambda *_: None)
            started = time.monotonic()
            with CpuMeter(meter_url) as meter:
                report = lighthouse(url, base)
            run = summarize(page, report, base, time.monotonic() - started)
            run.others = meter.others
            results[page].append(run)
            progress(f"  {page:<10} run {n}: performance {run.scores['performance']:>3}, "
                     f"accessibility {run.scores['accessibility']:>3}  ({run.seconds:.0f} s, "
                     f"other processes {run.others:.0%} of the CPUs)")
    return results


def median_run(runs: list) -> Run:
    """The run whose performance score is the median (the lower middle one for an even
    count): the figure reported and asserted (docs/benchmarks.md explains why not the best)."""
    ordered = sorted(runs, key=lambda r: (r.scores["performance"], r.scores["accessibility"]))
    return ordered[(len(ordered) - 1) // 2]


def spread(runs: list, category: str) -> tuple:
    values = [r.scores[category] for r in runs]
    return min(values), statistics.median(values), max(values)


def failures(results: dict) -> list:
    """Human-readable lines for every page whose median run scores under MIN_SCORE."""
    lines = []
    for page, runs in results.items():
        chosen = median_run(runs)
        low = [c for c in CATEGORIES if chosen.scores[c] < MIN_SCORE]
        if not low:
            continue
        lines.append(f"{page}: " + ", ".join(f"{c} {chosen.scores[c]}" for c in low)
                     + f" (all runs: {[r.scores for r in runs]}; other processes took "
                     + ", ".join(f"{r.others:.0%}" for r in runs) + f" of the CPUs; report {chosen.report_html})")
        lines += [f"    [{c}] {aid}: {title} {shown}" for c, aid, title, shown in chosen.failing if c in low]
    return lines


@contextmanager
def scratch_dir():
    path = tempfile.mkdtemp(prefix="lighthouse-")
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
