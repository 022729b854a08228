"""The `all` section of docs/benchmarks.md: one table over every benchmark and database,
the issue 7 targets (cached catalog vs "hello world", memory per web worker), and the runs."""
from datetime import datetime, timezone

from . import all_sections
from .machine import facts

MEMORY_LIMIT_MB = 200


def _cell(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


def _link(run):
    if not run.get("section"):
        return "(no section written)"
    return f"[{run['section']}](#{run['anchor']})"


def figure_rows(runs):
    """One row per verdict of every run, plus one per benchmark that has no SQLite figures."""
    lines = ["| benchmark | database | figure | measured | baseline, same run | target | verdict | "
             "peak MB per web worker | details |", "|---|---|---|---:|---|---|---|---:|---|"]
    for run in runs:
        if run.get("skipped"):
            lines.append(f"| {run['name']} | {run['database']} | — | — | — | — | {_cell(run['skipped'])} | — | — |")
            continue
        worker = web_worker_peak(run)
        mem = f"{worker:.0f}" if worker else "—"
        rows = run.get("verdicts") or []
        if not rows:
            lines.append(f"| {run['name']} | {run['database']} | (no verdicts) | — | — | — | "
                         f"**did not finish** (exit {run['code']}) | {mem} | {_link(run)} |")
        for v in rows:
            verdict = "PASS" if v["verdict"].startswith("PASS") else "**FAIL**"
            lines.append(" | ".join(["", run["name"], run["database"], _cell(v["figure"]), _cell(_measured(v)),
                                     _cell(v["baseline"] or "—"), _cell(v["target"]), verdict, mem, _link(run), ""])
                         .strip())
    return lines


def _measured(v):
    """The ratio a verdict states, with the measured page's own figure beside it when there is one."""
    return f"{v['measured']} ({v['subject']})" if v.get("subject") else v["measured"]


def web_worker_peak(run):
    peaks = [k["peak_mb"] for k in run.get("memory", {}).values() if k["web_worker"]]
    return max(peaks) if peaks else None


def memory_rows(runs):
    lines = ["| benchmark | database | process kind | processes seen | peak MB (one process) | target | verdict |",
             "|---|---|---|---:|---:|---|---|"]
    for run in runs:
        for kind, k in run.get("memory", {}).items():
            target = f"≤ {MEMORY_LIMIT_MB} MB" if k["web_worker"] else ""
            verdict = ("PASS" if k["peak_mb"] <= MEMORY_LIMIT_MB else "**FAIL**") if k["web_worker"] else ""
            lines.append(f"| {run['name']} | {run['database']} | {_cell(kind)} | {k['processes']} | "
                         f"{k['peak_mb']:.0f} | {target} | {verdict} |")
    return lines


def issue7_rows(runs):
    """The two targets issue 7 adds, pulled out of the big table."""
    lines = ["| target | measured | baseline, same run | verdict | from |", "|---|---:|---|---|---|"]
    for run in runs:
        for v in run.get("verdicts") or []:
            if "hello" in v["target"].lower():
                lines.append(f"| {_cell(v['figure'])}: {_cell(v['target'])} | {_cell(_measured(v))} | "
                             f"{_cell(v['baseline'])} | {'PASS' if v['verdict'].startswith('PASS') else '**FAIL**'} "
                             f"| {run['name']}, {run['database']} |")
    peaks = [(web_worker_peak(r), r) for r in runs if web_worker_peak(r)]
    if peaks:
        worst, run = max(peaks, key=lambda p: p[0])
        ok = worst <= MEMORY_LIMIT_MB
        lines.append(f"| peak memory per web worker under load ≤ {MEMORY_LIMIT_MB} MB (largest over every run) | "
                     f"{worst:.0f} MB | — | {'PASS' if ok else '**FAIL**'} | {run['name']}, {run['database']} |")
    return lines


def markdown(*, command, runs, started, seconds, quick, url, note=None):
    when = started.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    out = ["## All benchmarks in one run (issue 7)", "",
           "`python -m bench all` runs every benchmark of `bench/` one after another, each on PostgreSQL (seeding its "
           "own database, named after the benchmark, with its own seeder) and then on SQLite (a file holding a copy "
           "of exactly those rows, bench/sqlite_copy.py), each writing its own detailed section below; this table "
           "collects their verdicts. The data set at scale: 100,000 products and 2,000 cooperatives (storefront, "
           "flash sale), 20,000 households and 1,000,000 paid order lines with their ledger (ledger), 20,000 "
           "households with 24 months of ledger and income data (monitoring), plus the live-room and process-model "
           "benchmarks' own shows and viewers. While each benchmark runs, a thread samples the resident memory of "
           "every process it started (psutil, every 0.5 s, together with the kernel's high-water mark VmHWM), "
           "grouped by kind; issue 7's target applies to the marketplace's web workers (not to the yardstick apps).",
           "", f"Run on {when}" + (f" (whole run: {seconds / 60:.0f} min)" if seconds else "") + ":", "",
           "```sh", command, "```", ""]
    if note:
        out += [note, ""]
    if quick:
        out += ["**Quick run** (`--quick`: small data, short durations, no waiting for a quiet machine): it shows "
                "that everything runs, not how fast.", ""]
    out += ["### Issue 7's own targets", ""] + issue7_rows(runs)
    out += ["", "### Every figure", "", "Each figure as its benchmark's section states it (\"measured\" is a ratio "
            "where the target is one), beside the yardstick it was measured against in the same run.", ""]
    out += figure_rows(runs)
    out += ["", "### Peak memory per process", "",
            "\"Processes seen\" counts every process of that kind over the run: more workers than a server "
            "starts means gunicorn replaced some (gunicorn.conf.py, read from the working directory by every "
            "gunicorn the benchmarks start, recycles a pages worker after `max_requests` 10,000), so the peak is "
            "that of a worker's lifetime under this load, not of a process that runs for days.", ""]
    out += memory_rows(runs)
    out += ["", "### Runs", "", "| benchmark | database | exit code | minutes | options | options it does not offer |",
            "|---|---|---:|---:|---|---|"]
    for run in runs:
        if not run.get("skipped"):
            out.append(f"| {run['name']} | {run['database']} | {run['code']} | {run['seconds'] / 60:.1f} | "
                       f"`{_cell(' '.join(run['argv']))}` | {', '.join(run['unsupported']) or '—'} |")
    out += ["", "### Setup", "", "| | |", "|---|---|"] + [f"| {k} | {v} |" for k, v in _setup(url).items()]
    return "\n".join(out)


def _setup(url):
    """The machine and both databases; a server that cannot be reached is said, not fatal."""
    import sqlite3

    import psycopg

    try:
        found = facts(url)
    except psycopg.Error as exc:
        found = {**facts("sqlite://"), "PostgreSQL": f"not reachable at {url}: {exc}".strip()}
    found.pop("SQLite", None)
    return {**found, "SQLite": sqlite3.sqlite_version}


def now():
    return datetime.now(timezone.utc)


def attach_section(run, before, after):
    """Record which section a run wrote (its text is kept, so a saved run can be reported again)."""
    name = all_sections.written_by(run["name"], before, after)
    run["section"], run["section_text"] = name, after.get(name, "") if name else ""
    return parse(run)


def parse(run):
    """The verdicts of a run's section, each with its baseline and its own figure."""
    text = run.get("section_text")
    if text:
        run["anchor"] = all_sections.anchor(text)
        run["verdicts"] = [dict(v, baseline=all_sections.baseline_for(text, v),
                                subject=all_sections.subject_figure(text, v)) for v in all_sections.verdicts(text)]
    return run
