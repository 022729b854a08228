"""Figures, verdicts and the `ledger` section of docs/benchmarks.md for bench/run_ledger.py."""
import statistics
from datetime import datetime, timezone

from .docs import write_section
from .ledger_rounds import LABELS
from .sqlite_copy import is_sqlite
from .machine import facts as machine_facts


def summarise(results, verifies, accrual_min, verify_min, problems, labels) -> dict:
    """`labels`: {"copy": name, "insert": name} of the two yardsticks (bench/ledger_rounds.py LABELS
    on PostgreSQL, bench/ledger_sqlite.py LABELS on SQLite)."""
    total = lambda key: sum(r[key] for r in results)  # noqa: E731
    s = {"lines": total("lines"), "rows": total("rows"), "real": total("seconds"), "load": total("load_seconds"),
         "copy": total("copy_seconds"), "insert": total("insert_seconds"), "batches": total("batches"),
         "others": statistics.median(r["others"] for r in results),
         "others_max": max(max(r["others"], r["copy_others"], r["insert_others"]) for r in results)}
    s["ratio_copy"], s["ratio_insert"] = s["copy"] / s["real"], s["insert"] / s["real"]
    s["round_ratios_copy"] = [r["copy_seconds"] / r["seconds"] for r in results]
    s["round_ratios_insert"] = [r["insert_seconds"] / r["seconds"] for r in results]
    entries = verifies[0]["result"].get("entries", 0)
    s["verify_entries"] = entries
    s["verify_seconds"] = statistics.median(v["seconds"] for v in verifies)
    s["verify_command_seconds"] = statistics.median(v["command_seconds"] for v in verifies)
    s["startup_seconds"] = statistics.median(v.get("startup_seconds", float("nan")) for v in verifies)
    s["verify_rate"] = entries / s["verify_seconds"]
    s["verify_command_rate"] = entries / s["verify_command_seconds"]
    s["verify_ok"] = all(v["result"].get("ok") and v["code"] == 0 for v in verifies) and entries == s["rows"]
    s["accrual_min"], s["verify_min"], s["labels"] = accrual_min, verify_min, labels
    s["verdicts"] = [
        (f"accruing vs {labels['copy']}", f"≥ {accrual_min} × bare speed", f"{s['ratio_copy']:.2f} ×",
         s["ratio_copy"] >= accrual_min),
        (f"accruing vs {labels['insert']}", f"≥ {accrual_min} × bare speed", f"{s['ratio_insert']:.2f} ×",
         s["ratio_insert"] >= accrual_min),
        ("`flask ledger verify` (command, wall time incl. start-up)", f"≥ {verify_min:,} entries/s",
         f"{s['verify_command_rate']:,.0f} /s", s["verify_command_rate"] >= verify_min and s["verify_ok"]),
        ("ledger.verify() (the function the command runs)", f"≥ {verify_min:,} entries/s",
         f"{s['verify_rate']:,.0f} /s", s["verify_rate"] >= verify_min and s["verify_ok"]),
    ]
    s["problems"] = problems if s["verify_ok"] else problems + ["verify did not report the whole ledger intact"]
    s["notes"] = _notes(s)
    s["ok"] = all(v[3] for v in s["verdicts"]) and not s["problems"]
    return s


def _notes(s) -> list[str]:
    """Why a target failed, from the figures themselves."""
    notes = []
    command_ok, function_ok = s["verdicts"][2][3], s["verdicts"][3][3]
    if function_ok and not command_ok:
        startup = s["verify_command_seconds"] - s["verify_seconds"]
        notes.append(f"The command's figure is the check ({s['verify_seconds']:.1f} s, {s['verify_rate']:,.0f} "
                     f"entries/s) plus about {startup:.1f} s of start-up (Python imports, create_app) on a machine "
                     f"where other processes used a median {s['others']:.0%} of the CPUs. A quieter machine, a "
                     "larger ledger (the start-up does not grow with it) or a lighter CLI start-up would pass it.")
    for kind in ("copy", "insert"):
        if s[f"ratio_{kind}"] < s["accrual_min"]:
            notes.append(f"Accruing ran at {s[f'ratio_{kind}']:.2f} × the {s['labels'][kind]}: see the per-round "
                         "ratios above.")
    return notes


def print_summary(s):
    print()
    print(f"accrued {s['lines']:,} lines -> {s['rows']:,} ledger rows in {s['real']:.1f}s "
          f"({s['lines'] / s['real']:,.0f} lines/s, {s['rows'] / s['real']:,.0f} rows/s; loading the orders "
          f"took another {s['load']:.1f}s)")
    print(f"{s['labels']['copy']} of the same rows {s['copy']:.1f}s ({s['rows'] / s['copy']:,.0f} rows/s); "
          f"{s['labels']['insert']} {s['insert']:.1f}s ({s['rows'] / s['insert']:,.0f} rows/s)")
    print(f"verify: {s['verify_entries']:,} entries in {s['verify_seconds']:.2f}s in-process, "
          f"{s['verify_command_seconds']:.2f}s as `flask ledger verify`")
    for name, rule, measured, ok in s["verdicts"]:
        print(f"{'PASS' if ok else 'FAIL'}  {name:<58} {rule:<24} measured {measured}")
    for problem in s["problems"]:
        print("PROBLEM:", problem)


def _fmt_ratios(values):
    return ", ".join(f"{v:.2f}" for v in values)


PG_ROWS = {"copy": "bare `COPY` of the same rows", "insert": "bare `INSERT … SELECT FROM unnest(…)` of the same rows"}
SQLITE_ROWS = {"copy": "bare `executemany` of the same rows, one transaction",
               "insert": "bare `INSERT … SELECT` of the same rows from `ledger_entries`, one transaction"}


def _intro_sqlite(s) -> list[str]:
    return [
        "## Ledger on SQLite: accruing paid order lines, and verifying the chain", "",
        "The `ledger` benchmark above, run on SQLite: the same paid orders (seeded on PostgreSQL by "
        "`bench/ledger_seed.py`, then copied row for row into a SQLite file built by the app's own migrations, "
        "append-only triggers included: `bench/sqlite_copy.py`), the same real path, "
        "`marketplace.households.accrual.accrue_orders`, given a batch of paid orders at a time: links read in "
        "one query, each entry's sha256 computed in Python, the entries written by SQLAlchemy's executemany of "
        "one `INSERT` (5,000 rows per call), one transaction per batch, in WAL mode with foreign keys on as the "
        "app configures SQLite (`marketplace/core/db.py`). SQLite has one writer at a time: the batch's "
        "transaction holds the database's write lock, which stands in for PostgreSQL's `SELECT … FOR UPDATE` "
        "of the chain head.", "",
        "The yardsticks are SQLite's fastest plain bulk inserts of the very rows the real path wrote, into twin "
        "tables of `ledger_entries` in the same file (same columns, indexes, unique and foreign-key "
        "constraints, no triggers), each in ONE transaction, on a connection set up like the app's: the rows "
        "(read back, untimed) through the sqlite3 driver's `executemany` of one prepared `INSERT`, and "
        "`INSERT … SELECT` copying them from `ledger_entries` inside the engine. Speed ratio = bare seconds ÷ "
        "real seconds for the same rows.", "",
        "n/a on SQLite: the `COPY` and `INSERT … SELECT FROM unnest(…)` yardsticks (PostgreSQL statements; "
        "replaced by the two above), and the server-side hashing of `flask ledger verify` (on SQLite Python "
        "recomputes every entry's sha256 row by row, `ledger.verify_in_python`).", "",
    ]


def _intro_pg(s) -> list[str]:
    return [
        "## Ledger: accruing paid order lines, and verifying the chain", "",
        "What it measures: how fast paid order lines become household accruals through the application's own "
        "accrual path, `marketplace.households.accrual.accrue_orders` (the function the payment event calls "
        "with its one order), given a batch of paid orders at a time: the approved links of the batch's "
        "cooperatives and products read in one query, the chain head locked once (`SELECT … FOR UPDATE`), "
        "each entry's sha256 over its content and the previous hash computed in Python, and the entries "
        "written by one multi-row `INSERT … SELECT FROM unnest(…)` per 5,000 entries, each column sent as one "
        "array literal (no COPY, no ORM objects), one transaction per batch. "
        "The invariants stay: every entry chained and hashed, the link version and its rate frozen on the entry, "
        "amounts by the documented floor rule (accruals + retained = line total), the table append-only by "
        "trigger.", "",
        "The yardstick is a bare bulk insert of the very rows the real path wrote (read back, untimed) into twin "
        "tables of `ledger_entries` in the same database (same columns, indexes, unique and foreign-key "
        "constraints), once by `COPY` and once by the very `INSERT … SELECT FROM unnest(…)` statement the "
        "application sends, each committed in transactions of as many rows as a real batch made. Speed ratio "
        "= bare seconds ÷ real seconds for the same rows; the verdict that counts is against `COPY`, the "
        "fastest bulk insert PostgreSQL has.", "",
        "`flask ledger verify` walks the whole chain: on PostgreSQL the server recomputes every entry's "
        "sha256 over the same text Python hashes (`marketplace/households/ledger_pg.py`; the tests check "
        "both agree on tampered ledgers), checks the gapless sequence and that each entry names its "
        "predecessor's hash; on SQLite Python does it row by row.", "",
    ]


def write_docs(*, command, args, data, results, verifies, summary):
    s = summary
    sqlite = is_sqlite(args.database_url)
    labels = s.get("labels") or LABELS  # runs saved before SQLite existed had no labels
    rows = SQLITE_ROWS if sqlite else PG_ROWS
    when = s.get("finished") or datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    out = (_intro_sqlite if sqlite else _intro_pg)(s) + [
        f"Targets: accruing ≥ {s['accrual_min']} × the bare bulk insert's speed; `flask ledger verify` ≥ "
        f"{s['verify_min']:,} entries per second.", "",
        f"Run on {when} (whole run, seeding included: {s.get('wall_seconds', 0) / 60:.1f} min):", "",
        "```sh", command, "```", "",
        _needs(args, data) if sqlite else
        "Needs PostgreSQL; the database is created if missing and its public schema is dropped and rebuilt with "
        "the app's migrations. `--lines` scales the run down (e.g. `--lines 100000`).", "",
        "### Results", "",
        "| | seconds | lines/s | ledger rows/s |", "|---|---:|---:|---:|",
        f"| real accrual path (`accrue_orders` + commit) | {s['real']:.1f} | {s['lines'] / s['real']:,.0f} | "
        f"{s['rows'] / s['real']:,.0f} |",
        f"| {rows['copy']} | {s['copy']:.1f} | | {s['rows'] / s['copy']:,.0f} |",
        f"| {rows['insert']} | {s['insert']:.1f} | | {s['rows'] / s['insert']:,.0f} |",
        f"| (loading the paid orders for the real path, not counted) | {s['load']:.1f} | | |", "",
        f"| verifying {s['verify_entries']:,} entries | seconds | entries/s |", "|---|---:|---:|",
        f"| `ledger.verify()` (the function the command runs) | {s['verify_seconds']:.2f} | "
        f"{s['verify_rate']:,.0f} |",
        f"| `flask --app wsgi ledger verify` (process, wall time incl. start-up) | "
        f"{s['verify_command_seconds']:.2f} | {s['verify_command_rate']:,.0f} |",
        *([f"| (`flask --app wsgi ledger --help`: the same start-up, no checking) | {s['startup_seconds']:.2f} | |"]
          if s.get("startup_seconds", float("nan")) == s.get("startup_seconds") else []),  # NaN: not measured
        "",
        "| target | rule | measured | verdict |", "|---|---|---:|---|",
    ]
    out += [f"| {name} | {rule} | {measured} | {'PASS' if ok else '**FAIL**'} |"
            for name, rule, measured, ok in s["verdicts"]]
    out += ["", f"{s['lines']:,} paid order lines of {data['orders']:,} orders became {s['rows']:,} ledger entries "
            f"in {s['batches']:,} batches of {args.batch:,} orders ({args.rounds} rounds). Ratio per round, "
            f"{labels['copy']} ÷ real: {_fmt_ratios(s['round_ratios_copy'])}; {labels['insert']} ÷ real: "
            f"{_fmt_ratios(s['round_ratios_insert'])}. Verify: median of {args.verify_runs} runs each, in-process "
            "and as a command" + (", and the command's start-up alone" if "startup_seconds" in s else "")
            + ", in rotating order; every run reported the whole chain intact"
            + ("" if s["verify_ok"] else " — **NOT**: see below") + ". Other processes used a median "
            f"{s['others']:.0%} (at most {s['others_max']:.0%}) of the CPUs during the measurements: the machine is "
            f"shared; each measurement waited up to {args.quiet_timeout} s for them to use at most "
            f"{args.max_others:.0%}.", ""]
    if s.get("notes"):
        out += ["Why a target failed:", ""] + [f"- {n}" for n in s["notes"]] + [""]
    if s["problems"]:
        out += ["Problems found in this run:", ""] + [f"- {p}" for p in s["problems"]] + [""]
    out += ["### Setup", "", "| | |", "|---|---|"]
    out += [f"| {k} | {v} |" for k, v in machine_facts(args.database_url).items() if k not in ("gunicorn", "wrk")]
    if sqlite:
        out.append("| SQLite settings | WAL, foreign_keys=ON, busy_timeout=30000 (marketplace/core/db.py) |")
    out += ["", f"Data (`bench/ledger_seed.py`, by COPY): {args.cooperatives:,} cooperatives and "
            f"{args.households:,} products (`bench/seed.py`), {args.households:,} enrolled households, "
            f"{data['links']:,} approved benefit links (one per product, 70 % a share of 3–25 %, 30 % a fixed "
            "0.50–5.00 yuan per unit; one cooperative in ten also pays a 5 % dividend on all its sales to one "
            f"household, so those lines split in two), {data['orders']:,} paid orders of 1–5 lines from one "
            f"cooperative each, paid over 300 days of 2026. "
            + ("Seeding: kept from an earlier run (`--reuse-data`)." if data.get("reused") else
               f"Seeding took {data['seconds']:.0f} s."), ""]
    return write_section("ledger-sqlite" if sqlite else "ledger", "\n".join(out))


def _copy_said(data) -> str:
    return data.get("copy_log") or f"copied {data.get('copied_rows', 0):,} rows"  # runs saved before the log


def _needs(args, data) -> str:
    seeded = ("kept, already seeded with these options (`--reuse-data`)" if data.get("reused") else
              "seeded exactly as the PostgreSQL run seeds it, its public schema dropped and rebuilt")
    dropped = "" if not data.get("ledger_dropped") else (
        f"; the {data['ledger_dropped']:,} ledger entries copied with it (the PostgreSQL run's) were dropped with "
        "their table, which was recreated empty from its own DDL, triggers included")
    return (f"The PostgreSQL `--source-url` ({args.source_url}) was {seeded}; then the SQLite file, built by the "
            f"app's migrations: {_copy_said(data)}{dropped}. With the twin tables this took "
            f"{data.get('copy_seconds', 0):.0f} s. `--lines` scales the run down (e.g. `--lines 100000`).")
