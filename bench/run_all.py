"""Every benchmark in one command, and one table: `python -m bench all`.

Runs each benchmark of bench/ (storefront, flash_sale, ledger, monitoring, live,
process_model, and any run_NAME.py added later) one after another, as its own
`python -m bench NAME` process, each on its own PostgreSQL database (`<database>_NAME`,
seeded by the benchmark's own seeder at the scale of issue 7) and, where the benchmark
says it can, on SQLite too. Each writes its detailed section of docs/benchmarks.md;
while it runs, a thread samples the memory of every process it started (bench/all_memory.py).
Then the `all` section collects every verdict beside its baseline, the issue 7 targets
and the peak memory per process kind (bench/all_report.py).

`--quick` (small data, short durations) smoke-tests the whole chain in a few minutes and
writes into a copy of docs/benchmarks.md (instance/bench-all-quick.md), so its figures
never replace real ones.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime
from urllib.parse import urlsplit, urlunsplit

from . import all_plan, all_report, all_sections, seed
from .__main__ import benchmarks
from .all_memory import TreeMemory
from .docs import DOCS, ROOT

HELP = "every benchmark (PostgreSQL and, where supported, SQLite) and one summary table, incl. issue 7's targets"
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/bench_all"
ORDER = ("storefront", "flash_sale", "ledger", "monitoring", "live", "process_model")
QUICK_DOCS = os.path.join(ROOT, "instance", "bench-all-quick.md")


def add_arguments(p):
    p.add_argument("--database-url", default=DEFAULT_URL,
                   help="base PostgreSQL URL: benchmark NAME gets the database <name>_NAME, created if missing, "
                        "its public schema DROPPED and rebuilt (default: %(default)s)")
    p.add_argument("--redis-url", help="Redis for the benchmarks that take --redis-url (default: each one's own)")
    p.add_argument("--quick", action="store_true",
                   help="small data and short durations, no waiting for a quiet machine: a smoke test of a few "
                        "minutes, written into a copy of the docs (see --docs)")
    p.add_argument("--only", metavar="NAMES", help="comma-separated benchmarks to run (default: all)")
    p.add_argument("--skip", metavar="NAMES", help="comma-separated benchmarks to leave out")
    p.add_argument("--max-others", type=float, metavar="SHARE",
                   help="passed to every benchmark that offers it: measure only while other processes use at most "
                        "this share of the CPUs (1 = never wait; default: each benchmark's own)")
    p.add_argument("--set", action="append", default=[], metavar="NAME:--OPTION=VALUE",
                   help="an option for one benchmark, e.g. storefront:--rounds=2 (repeatable)")
    p.add_argument("--timeout", type=float, metavar="MINUTES",
                   help="stop a benchmark that runs longer (default: 90, with --quick 6)")
    p.add_argument("--sqlite-dir", default=os.path.join(ROOT, "instance"),
                   help="where SQLite databases go, for benchmarks that support SQLite (default: %(default)s)")
    p.add_argument("--databases", default="postgresql,sqlite", metavar="KINDS",
                   help="which databases to run on: postgresql, sqlite or both (default: %(default)s); a "
                        "SQLite run copies the data its PostgreSQL run seeded (bench/sqlite_copy.py), seeding "
                        "it first if that run did not happen")
    p.add_argument("--reuse-data", action="store_true",
                   help="passed to every benchmark: keep a database that already holds its data set")
    p.add_argument("--report-from", metavar="PATHS",
                   help="run nothing: write the table from saved runs, comma-separated, later ones winning for "
                        "the same benchmark and database (each run saves instance/bench-all-<time>.json and "
                        "instance/bench-all-last.json; a quick one instance/bench-all-quick.json)")
    p.add_argument("--note", help="with --report-from: a remark printed under the command (e.g. what did not run)")
    p.add_argument("--docs", help=f"the Markdown file the sections go into (default: docs/benchmarks.md; "
                                  f"with --quick a fresh copy of it, {os.path.relpath(QUICK_DOCS, ROOT)})")


def run(args, command):
    if args.report_from:
        return _report_from(args.report_from, args)
    started, t0 = all_report.now(), time.monotonic()
    docs = _docs_path(args)
    found = {name: module for name, module in benchmarks().items() if name != "all"}
    runs = []
    kinds = set(args.databases.split(","))
    for name in _chosen(found, args):
        module, postgres = found[name], _database(args.database_url, name)
        if "postgresql" in kinds:
            runs.append(_one(args, docs, name, module, "PostgreSQL", postgres))
        if "sqlite" not in kinds:
            continue
        if all_plan.supports_sqlite(module):
            url = "sqlite:///" + os.path.join(os.path.abspath(args.sqlite_dir), f"bench-all-{name}.sqlite")
            # the PostgreSQL run has just seeded the source: copy it rather than seeding again
            runs.append(_one(args, docs, name, module, "SQLite", url,
                             {"--source-url": postgres, "--reuse-data": True}))
        else:
            runs.append({"name": name, "database": "SQLite",
                         "skipped": "PostgreSQL only: " + all_plan.sqlite_reason(name)})
    saved = {"command": command, "runs": runs, "started": started.isoformat(), "seconds": time.monotonic() - t0,
             "quick": args.quick, "url": _setup_url(args, runs), "docs": docs}
    _save(saved, args.quick)
    return _write(saved)


def _setup_url(args, runs):
    """A PostgreSQL database that exists (one a run used), for the Setup table's server facts."""
    used = [r["name"] for r in runs if r["database"] == "PostgreSQL" and not r.get("skipped")]
    return _database(args.database_url, used[0] if used else "storefront")


def _save(saved, quick):
    """Keep every run (pieces of the table may come from several runs) and the last one."""
    names = ["bench-all-quick.json"] if quick else [f"bench-all-{all_report.now():%Y%m%dT%H%M%S}.json",
                                                      "bench-all-last.json"]
    for name in names:
        with open(os.path.join(ROOT, "instance", name), "w") as fh:
            json.dump(saved, fh, indent=1)


def _write(saved):
    for run in saved["runs"]:
        all_report.parse(run)
    markdown = all_report.markdown(command=saved["command"], runs=saved["runs"],
                                   started=datetime.fromisoformat(saved["started"]), seconds=saved["seconds"],
                                   quick=saved["quick"], url=saved["url"], note=saved.get("note"))
    print(markdown)
    print("wrote", all_sections_write(markdown, saved["docs"]))
    runs = saved["runs"]
    finished = all(r.get("skipped") or r.get("verdicts") for r in runs)  # a failed target exits 1 too
    passed = all(v["verdict"].startswith("PASS") for r in runs for v in r.get("verdicts") or [])
    return 0 if finished and passed else 1


def _report_from(paths, args):
    """Write the table again from saved runs (after a change to the report's layout, or to put
    together runs of different benchmarks made at different times)."""
    saved = _merge([_load(path) for path in paths.split(",")])
    if args.docs:
        saved["docs"] = os.path.abspath(args.docs)
    saved["note"] = args.note
    return _write(saved)


def _load(path):
    with open(path) as fh:
        return json.load(fh)


def _merge(saves):
    """One table from several runs: every command, the runs in benchmark order, a later run of the
    same benchmark on the same database replacing an earlier one."""
    if len(saves) == 1:
        return saves[0]
    by_key = {}
    for saved in saves:
        for run in saved["runs"]:
            by_key[(run["name"], run["database"])] = run
    order = {name: i for i, name in enumerate(ORDER)}
    runs = sorted(by_key.values(), key=lambda r: (order.get(r["name"], len(order)), r["name"],
                                                   r["database"] != "PostgreSQL"))
    commands = list(dict.fromkeys(s["command"] for s in saves))
    starts = [datetime.fromisoformat(s["started"]) for s in saves]
    ends = [start.timestamp() + s["seconds"] for start, s in zip(starts, saves)]
    return {**saves[-1], "runs": runs, "command": "\n".join(commands), "started": min(starts).isoformat(),
            "seconds": max(ends) - min(starts).timestamp()}  # first start to last end


def all_sections_write(markdown, path):
    from .docs import write_section

    return write_section("all", markdown, path)


def _docs_path(args):
    if args.docs:
        return os.path.abspath(args.docs)
    if not args.quick:
        return DOCS
    os.makedirs(os.path.dirname(QUICK_DOCS), exist_ok=True)
    shutil.copyfile(DOCS, QUICK_DOCS)
    return QUICK_DOCS


def _chosen(found, args):
    names = [n for n in ORDER if n in found] + sorted(set(found) - set(ORDER))
    if args.only:
        wanted = args.only.split(",")
        unknown = set(wanted) - set(found)
        if unknown:
            raise SystemExit(f"unknown benchmarks: {', '.join(sorted(unknown))}; there are: {', '.join(names)}")
        names = [n for n in names if n in wanted]
    return [n for n in names if n not in (args.skip or "").split(",")]


def _database(base, name):
    """postgresql://…/bench_all -> postgresql://…/bench_all_NAME"""
    parts = urlsplit(base)
    return urlunsplit(parts._replace(path=f"{parts.path.rstrip('/')}_{name}"))


def _extra(args, name, docs, database):
    extra = {"--reuse-data": True} if args.reuse_data else {}
    if args.max_others is not None:
        extra["--max-others"] = args.max_others
    if args.quick:  # keep the owners' saved results (`--docs-from`) for real runs
        extra["--save"] = os.path.join(os.path.dirname(docs), f"bench-all-{name}-{database.lower()}-last.json")
    for item in args.set:
        target, _, option = item.partition(":")
        if target == name:
            key, _, value = option.partition("=")
            extra[key] = value or True
    return extra


def _one(args, docs, name, module, database, url, extra=None):
    extra = {**_extra(args, name, docs, database), **(extra or {})}
    argv, unsupported = all_plan.argv_for(name, module, quick=args.quick, database_url=url,
                                          redis_url=args.redis_url, extra=extra)
    print(f"\n=== {name} on {database}: python -m bench {name} {' '.join(argv)}", flush=True)
    for postgres in (url, extra.get("--source-url") or ""):
        if postgres.startswith("postgresql"):
            seed.ensure_database(postgres)
    before, real_before = all_sections.sections(docs), all_sections.sections(DOCS)
    t0 = time.monotonic()
    timeout = 60 * (args.timeout or (6 if args.quick else 90))
    code, memory = _child(docs, name, argv, timeout)
    run = {"name": name, "database": database, "argv": argv, "unsupported": unsupported, "code": code,
           "seconds": time.monotonic() - t0, "memory": memory}
    all_report.attach_section(run, before, all_sections.sections(docs))
    touched = docs != DOCS and all_sections.written_by(name, real_before, all_sections.sections(DOCS))
    if touched:
        print(f"NOTE: section {touched} of {DOCS} changed while {name} ran (by someone else, unless {name} "
              "writes it without bench.docs.write_section)")
    print(f"=== {name} on {database}: exit {code} after {run['seconds'] / 60:.1f} min; "
          f"{len(run.get('verdicts') or [])} verdicts; peak MB per web worker: {all_report.web_worker_peak(run)}")
    return run


def _child(docs, name, argv, timeout):
    """Run the benchmark in its own process group, echoing its output; stop it after `timeout` s."""
    cmd = [sys.executable, "-m", "bench.all_child", docs, name, *argv]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    echo = threading.Thread(target=_echo, args=(proc.stdout, name), daemon=True)
    echo.start()
    try:
        with TreeMemory(proc.pid) as memory:
            try:
                code = proc.wait(timeout)
            except subprocess.TimeoutExpired:
                print(f"=== {name}: still running after {timeout / 60:.0f} min: stopping it")
                code = _stop(proc)
    finally:
        if proc.poll() is None:  # we were interrupted: do not leave its servers behind
            _stop(proc)
    echo.join(10)
    return code, memory.summary()


def _echo(stream, name):
    for line in stream:
        print(f"  [{name}] {line.rstrip()}", flush=True)


def _stop(proc):
    """SIGTERM to the benchmark's process group (it stops its servers on the way out), then SIGKILL."""
    for sig, grace in ((signal.SIGTERM, 60), (signal.SIGKILL, 10)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            return proc.wait(grace)
        except subprocess.TimeoutExpired:
            continue
    return proc.wait()
