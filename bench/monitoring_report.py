"""Figures, verdicts and the `monitoring` section of docs/benchmarks.md for
bench/run_monitoring.py (`monitoring-sqlite` for a run on SQLite)."""
import sqlite3
import statistics
from datetime import datetime, timezone

from . import sqlite_copy
from .docs import write_section
from .machine import facts as machine_facts


def _figures(part) -> dict:
    runs = part["runs"]
    subject = statistics.median(r["subject"] for r in runs)
    baseline = statistics.median(r["baseline"] for r in runs)
    ratios = [r["baseline"] / r["subject"] for r in runs]
    return {"subject": subject, "baseline": baseline, "ratio": statistics.median(ratios), "ratios": ratios,
            "ratio_of_medians": baseline / subject, "rounds": len(runs),
            "others": statistics.median(r["subject_others"] for r in runs),
            "others_max": max(max(r["subject_others"], r["baseline_others"]) for r in runs),
            "check": part["check"]}


def summarise(scan, steady, worst, verification, min_ratio) -> dict:
    s = {"scan": _figures(scan), "reconcile": _figures(steady), "worst": _figures(worst),
         "verification": verification, "min_ratio": min_ratio}
    s["verdicts"] = [
        ("monitoring scan (run_scan, opening every case)", s["scan"]["ratio"], s["scan"]["ratio"] >= min_ratio),
        ("reconciliation (reconcile, chain verified nightly)", s["reconcile"]["ratio"],
         s["reconcile"]["ratio"] >= min_ratio),
    ]
    s["worst_ok"] = s["worst"]["ratio"] >= min_ratio
    s["problems"] = scan["problems"] + steady["problems"] + worst["problems"]
    if not verification.get("ok"):
        s["problems"].append(f"the full verification did not find the chain intact: {verification}")
    s["ok"] = all(v[2] for v in s["verdicts"]) and not s["problems"]
    return s


def print_summary(s):
    print()
    for name, ratio, ok in s["verdicts"]:
        print(f"{'PASS' if ok else 'FAIL'}  {name:<52} {ratio:.2f} x its baseline's speed (target >= {s['min_ratio']})")
    print(f"info  reconciliation, chain never verified (worst case)      {s['worst']['ratio']:.2f} x")
    print(f"info  full verification of the chain: {s['verification']}")
    for problem in s["problems"]:
        print("PROBLEM", problem)


def _row(name, f, rule, ok):
    verdict = "PASS" if ok else "**FAIL**" if ok is not None else "(no target)"
    return (f"| {name} | {f['subject']:.3f} | {f['baseline']:.3f} | {f['ratio']:.2f} × "
            f"({', '.join(f'{r:.2f}' for r in f['ratios'])}) | {rule} | {verdict} | {f['others']:.0%} |")


def _setup(url, data) -> dict:
    """The machine's facts; on SQLite, the SQLite library's instead of the PostgreSQL server's."""
    if not sqlite_copy.is_sqlite(url):
        return machine_facts(url)
    facts = {k: v for k, v in machine_facts(data["source"]).items() if not k.startswith("PostgreSQL")}
    return {**facts, "SQLite": f"{sqlite3.sqlite_version} (WAL, busy_timeout 30 s: marketplace/core/db.py)"}


def _on(url, data) -> dict:
    """The sentences that differ between the PostgreSQL and the SQLite run."""
    if not sqlite_copy.is_sqlite(url):
        return {"section": "monitoring", "title": "", "driver": "psycopg", "database": "PostgreSQL",
                "setup": "Needs PostgreSQL: the database is created if missing, its public schema dropped and "
                         "rebuilt with the app's migrations, then seeded by COPY (about 6 minutes on this machine; "
                         "the measuring takes about 5). `--reuse-data` skips the seeding when the database already "
                         "holds the same counts;",
                "ours": "this process and the PostgreSQL backends of its database", "extra": [],
                "loaded": "`bench/monitoring_seed.py`, COPY", "analyze": "`VACUUM ANALYZE`",
                "hashing": "in SQL (`monitoring/chain.py`)"}
    return {"section": "monitoring-sqlite", "title": " on SQLite", "driver": "sqlite3", "database": "SQLite file",
            "setup": f"The PostgreSQL source (`--source-url`, here {data['source']}) is seeded exactly as for the "
                     "PostgreSQL run, then copied row by row into a SQLite file built by the app's own migrations "
                     "(`bench/sqlite_copy.py`); the app and both yardsticks run on that file. The yardsticks are the "
                     "PostgreSQL run's SQL as written (SQLite runs the LEFT JOINs to GROUP BY subqueries and "
                     "`sum(…) FILTER (WHERE …)` alike), sent with sqlite3, timestamps bound as the UTC text the "
                     "app stores (`bench/monitoring_sqlite.py`). `--reuse-data` keeps a source and a file that "
                     "already hold the same counts;",
            "ours": "this process, SQLite included: it runs inside it",
            "extra": ["n/a on SQLite: the CPU of PostgreSQL backends (there are none; SQLite's work is this "
                      "process's) and `VACUUM` (the file is freshly copied; `ANALYZE` gives the planner its "
                      "statistics).", ""],
            "loaded": f"copied from {data['source']}, seeded by `bench/monitoring_seed.py`", "analyze": "`ANALYZE`",
            "hashing": "in Python (`monitoring/chain.py`; SQLite has no sha256())"}


def write_docs(*, command, args, data, summary, url, when=None, path=None) -> str:
    s, facts, on = summary, _setup(url, data), _on(url, data)
    when = when or datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    rule = f"≥ {s['min_ratio']} ×"
    scan, rec, worst, ver = s["scan"], s["reconcile"], s["worst"], s["verification"]
    out = [
        f"## Monitoring: the scan and the reconciliation against hand-written SQL aggregates{on['title']}", "",
        "What it measures: the application's own functions, called in-process as the command and the page call "
        "them, next to the single hand-written SQL aggregate query over the same rows (sent with "
        f"{on['driver']}, all rows fetched), in the same run on the same {on['database']}:", "",
        "- **the monitoring scan**: `monitoring.scan.run_scan()`, what `flask monitoring scan` and its job run, over "
        f"{data['households']:,} households with 24 months of ledger and income data. It reads the figures, "
        "applies the four rules in Python and opens a case (with its audit record, and the household set to "
        "`monitored`) for every household with a hit: each run is rolled back afterwards, so every run opens all "
        f"{scan['check']['opened']:,} cases, the whole work. Baseline: one SELECT of every household with its "
        "12-month, last-3-month, previous-3-month and spending sums and its recent risk events "
        "(`SCAN_SQL` in `bench/monitoring_rounds.py`).",
        "- **the reconciliation**: `monitoring.reconciliation.reconcile()`, what the audit page, its CSV/XLSX "
        f"exports and the API call, for a cooperative with {data['big_paid_lines']:,} paid lines in the year "
        f"reconciled ({data['big_ledger_entries']:,} of its ledger entries): the figures, the rows of its "
        f"{rec['check']['households']} households and the search for every kind of discrepancy. Baseline: one "
        "SELECT of the period's paid, refunded, allocated, absorbed, paid-out and owed sums (`RECONCILE_SQL`).", "",
        "The ratio is the baseline's time divided by the subject's (1.0: as fast as the bare query), the median "
        "of the per-round ratios; each round runs the two one after the other, the order alternating. Both are "
        "warmed once first.", "",
        f"Targets (issue 6): each at least {s['min_ratio']} × the speed of its baseline.", "",
        f"Run on {when}:", "", "```sh", command, "```", "",
        on["setup"] + " `--households`, "
        "`--lines`, `--rounds` and `--worst-rounds` scale the run; `--docs-from PATH` rewrites this section "
        "from the figures a run saved.", "",
        "### Results", "",
        "| subject | subject s (median) | baseline s (median) | ratio (per round) | target | verdict | others' CPU |",
        "|---|---:|---:|---|---|---|---:|",
        _row("monitoring scan", scan, rule, s["verdicts"][0][2]),
        _row("reconciliation (chain verified nightly)", rec, rule, s["verdicts"][1][2]),
        _row("reconciliation, chain never verified (worst case)", worst, "—", None), "",
        f"The full verification of the chain that the reconciliation builds on (`flask monitoring verify-ledger`, "
        f"run nightly; here once before the reconciliation rounds): {ver.get('entries', 0):,} entries in "
        f"{ver.get('seconds', 0):.1f} s, {'intact' if ver.get('ok') else 'BROKEN'}.", "",
        "Cross-checks (outside the timings): the scan opened "
        f"{scan['check']['opened']:,} cases for {scan['check']['households']:,} households, and the scan's rules "
        f"applied to the baseline's rows flag {scan['check']['hits_by_the_baseline']:,}; the reconciliation's "
        "figures equal the baseline's (" + ", ".join(f"{k} {rec['check'][k]:,}" for k in (
            "paid_fen", "allocated_fen", "paid_out_fen", "owed_fen")) + f") and it found "
        f"{rec['check']['discrepancies']} discrepancies in books seeded clean." + _same_as_source(scan), "",
        *on["extra"],
        "\"others' CPU\" is the median share of the machine's CPU time that processes other than the benchmark "
        f"({on['ours']}) used while the subject ran: the machine is shared.", "",
    ]
    if s["problems"]:
        out += ["Problems in this run:", ""] + [f"- {p}" for p in s["problems"]] + [""]
    out += [
        "### Why the reconciliation builds on a nightly verification", "",
        "Finding ledger chain breaks means recomputing a SHA-256 per entry, several times the work of adding the "
        "entry to a sum. The reconciliation therefore reports the latest full verification's result (recorded in "
        "the audit log by `flask monitoring verify-ledger`, its RQ job, or the page's \"Verify the whole ledger "
        "now\" button) and re-hashes only the cooperative's entries written since, "
        f"{on['hashing']}. "
        "Never verified, it hashes every entry of the period: the worst-case row above. An entry edited after "
        "the latest full verification is found by the next one.", "",
        "### Setup", "", "| | |", "|---|---|"] + [f"| {k} | {v} |" for k, v in facts.items()] + [
        "", f"Data ({on['loaded']}): " + _data_line(data, on["analyze"]), ""]
    return write_section(on["section"], "\n".join(out), **({"path": path} if path else {}))


def _same_as_source(scan) -> str:
    rows = scan["check"].get("rows_same_as_source")
    if rows is None:
        return ""
    same = ("the same answers on both databases" if scan["check"]["same_as_source"]
            else "**different answers** (see the problems below)")
    return f" Both yardsticks were also run on the PostgreSQL source ({rows:,} scan rows): {same}."


def _data_line(d, analyze) -> str:
    return (f"{d['households']:,} households in 50 counties, each linked to one of {d['cooperatives']} "
            f"cooperatives; {d['ledger_entries']:,} ledger entries in one valid hash chain (a monthly accrual per "
            "household over 24 months, quarterly payouts of the whole balance; the reconciled cooperative "
            f"#{d['big_cooperative']}: {d['big_paid_lines']:,} paid order lines in 12 months with their accruals, 1 % "
            f"refunded with reversals); {d['income_records']:,} income and spending records (wages, subsidies, "
            f"medical bills; ~5 % of households lose half their wages in the last 3 months, ~3 % earn too little, "
            f"~2 % spend more than they earn); {d['risk_events']:,} risk events; this year's line 7,500 yuan. "
            f"Database size {d['database_size']}; {analyze} after loading.")
