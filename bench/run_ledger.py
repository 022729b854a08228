"""The ledger benchmark: accruing paid order lines into the household income ledger
through the application, against a bare bulk insert of the same rows into the
same database, and `flask ledger verify` over the ledger that made.

Targets (issue 5): accruing 1,000,000 paid order lines over 20,000 households at
least 0.25 x the speed of a bare bulk insert of the same number of ledger rows;
`flask ledger verify` checks at least 100,000 entries per second.

The paid orders are split into --rounds slices. Each round accrues one slice
through the real path, then bulk-inserts the very rows it wrote, bare (COPY, and
the application's INSERT statement), into twin tables: the subject and its baselines alternate
through the run, so drift on the shared machine lands on all of them alike.

With a sqlite:///PATH --database-url the PostgreSQL --source-url is seeded as above and
copied into that file (bench/sqlite_copy.py); the rounds run there, against SQLite's own
bulk inserts (bench/ledger_sqlite.py).
"""
import json
import os
import time
from datetime import datetime, timezone
from types import SimpleNamespace

from . import ledger_report, ledger_rounds as rounds, ledger_sqlite, sqlite_copy
from .ledger_seed import reusable, seed_ledger
from .machine import wait_until_quiet

HELP = "household ledger: accruing paid order lines vs a bare bulk insert; flask ledger verify speed"
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/bench_ledger"
#: `python -m bench all` runs it on SQLite too (a copy of the seeded PostgreSQL data)
SQLITE = True
SAVED = os.path.join("instance", "bench-ledger-last.json")
ACCRUAL_MIN_RATIO = 0.25
VERIFY_MIN_PER_SECOND = 100_000


def add_arguments(p):
    p.add_argument("--database-url", default=DEFAULT_URL,
                   help="PostgreSQL database to (re)build and seed, its public schema DROPPED; or sqlite:///PATH, "
                        "a SQLite file rebuilt as a copy of --source-url once that is seeded (default: %(default)s)")
    p.add_argument("--source-url", default=DEFAULT_URL,
                   help="with a SQLite --database-url: the PostgreSQL database seeded and copied from "
                        "(default: %(default)s)")
    p.add_argument("--reuse-data", action="store_true",
                   help="keep a PostgreSQL database already seeded with these options (with its ledger still "
                        "empty; as a SQLite --source-url, whatever its ledger: the copy's is emptied)")
    p.add_argument("--lines", type=int, default=1_000_000, help="paid order lines to accrue (default: %(default)s)")
    p.add_argument("--households", type=int, default=20_000,
                   help="households, and products (one link each) (default: %(default)s)")
    p.add_argument("--cooperatives", type=int, default=2_000, help="cooperatives (default: %(default)s)")
    p.add_argument("--batch", type=int, default=1_000,
                   help="paid orders per accrue_orders() call and transaction (default: %(default)s)")
    p.add_argument("--rounds", type=int, default=10,
                   help="slices of the orders; each is accrued, then bulk-inserted bare (default: %(default)s)")
    p.add_argument("--verify-runs", type=int, default=3,
                   help="times verify runs, in-process and as `flask ledger verify`; medians (default: %(default)s)")
    p.add_argument("--max-others", type=float, default=0.5, metavar="SHARE",
                   help="before each measurement wait until other processes use at most this share of the "
                        "CPUs (default: %(default)s)")
    p.add_argument("--quiet-timeout", type=int, default=5,
                   help="longest wait, in seconds, for that (default: %(default)s)")
    p.add_argument("--write-docs", action="store_true", help="write the results into docs/benchmarks.md")
    p.add_argument("--save", default=SAVED, metavar="PATH",
                   help="where to keep this run's figures as JSON (default: %(default)s)")
    p.add_argument("--docs-from", metavar="PATH",
                   help="measure nothing: rewrite the docs section from figures saved by an earlier run")


def _slices(first, last, count):
    size = -(-(last - first + 1) // count)
    return [(start, min(start + size - 1, last)) for start in range(first, last + 1, size)]


def _store(args):
    """The module that reads and bulk-inserts into the benchmarked database."""
    return ledger_sqlite if sqlite_copy.is_sqlite(args.database_url) else rounds


def _meter_url(args):
    # the CPU meter counts our PostgreSQL backends as ours; SQLite runs inside this process
    return args.source_url if sqlite_copy.is_sqlite(args.database_url) else args.database_url


def _quiet(args):
    wait_until_quiet(_meter_url(args), args.max_others, args.quiet_timeout)


def _round(args, app, first, last, index):
    url, meter, store = args.database_url, _meter_url(args), _store(args)
    _quiet(args)
    before = store.ledger_count(url)
    real, real_others = rounds.timed(meter, rounds.accrue, app, first, last, args.batch)
    seqs = (before + 1, before + real["rows"])
    rows = store.ledger_rows(url, *seqs)
    per_txn = max(1, round(len(rows) / max(real["batches"], 1)))
    bare = {}
    kinds = ("copy", "insert") if index % 2 == 0 else ("insert", "copy")
    for kind in kinds:  # which baseline goes first alternates
        _quiet(args)
        bare[kind] = rounds.timed(meter, store.YARDSTICKS[kind], url, rows, *seqs, per_txn)
    result = {**real, "others": real_others, "copy_seconds": bare["copy"][0], "copy_others": bare["copy"][1],
              "insert_seconds": bare["insert"][0], "insert_others": bare["insert"][1], "per_txn": per_txn}
    print(f"  round {index + 1}/{args.rounds}: {real['lines']:,} lines -> {real['rows']:,} rows: "
          f"real {real['seconds']:.2f}s (+{real['load_seconds']:.2f}s loading orders), "
          f"{store.LABELS['copy']} {result['copy_seconds']:.2f}s, {store.LABELS['insert']} "
          f"{result['insert_seconds']:.2f}s; "
          f"others' CPU {real_others:.0%}/{result['copy_others']:.0%}/{result['insert_others']:.0%}")
    return result


def _verify(args, app):
    runs = []
    for index in range(args.verify_runs):
        kinds = ("process", "command", "startup")
        run = {}
        for kind in kinds[index % 3:] + kinds[:index % 3]:  # the order rotates
            _quiet(args)
            if kind == "process":
                (result, seconds), others = rounds.timed(_meter_url(args), rounds.verify_in_process, app)
                run.update(result=result, seconds=seconds, others=others)
            elif kind == "command":
                (output, code, seconds), others = rounds.timed(_meter_url(args), rounds.verify_command,
                                                               args.database_url)
                run.update(output=output, code=code, command_seconds=seconds, command_others=others)
            else:
                _, _, seconds = rounds.verify_command(args.database_url, "--help")
                run.update(startup_seconds=seconds)
        print(f"  verify {index + 1}/{args.verify_runs}: {run['result']} in {run['seconds']:.2f}s in-process; "
              f"`flask ledger verify` {run['command_seconds']:.2f}s ({run['startup_seconds']:.2f}s of it the "
              f"start-up alone): {run['output']!r}")
        runs.append(run)
    return runs


def _save(path, **run):
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(run, fh, indent=1, default=str)


def _docs_from(path):
    with open(path, encoding="utf-8") as fh:
        saved = json.load(fh)
    saved["args"] = SimpleNamespace(**saved["args"])
    print(f"wrote {ledger_report.write_docs(**saved)}")
    return 0 if saved["summary"]["ok"] else 1


def _prepare(args) -> dict:
    """Seed the PostgreSQL database; on SQLite, seed the source the same way and copy it into
    a new file (the app's migrations, triggers and all), empty its ledger and add the twin tables.
    With --reuse-data a PostgreSQL database seeded with the same options is kept: for a
    PostgreSQL run only while its ledger is still empty (nothing empties it but seeding); as a
    SQLite source also with the ledger its own run accrued, which the copy then drops."""
    sqlite = sqlite_copy.is_sqlite(args.database_url)
    source = args.source_url if sqlite else args.database_url
    data = args.reuse_data and reusable(source, args.lines, args.households, args.cooperatives,
                                        empty_ledger=not sqlite)
    if data:
        print(f"{source} already holds the paid orders of these options: kept")
    else:
        print(f"seeding {source} ...")
        data = seed_ledger(source, args.lines, args.households, args.cooperatives)
    if sqlite:
        started = time.perf_counter()
        said = []
        sqlite_copy.copy(source, args.database_url, reuse=args.reuse_data, log=lambda m: (print(m), said.append(m)))
        data["copy_log"] = " ".join(said)
        data["ledger_dropped"] = ledger_sqlite.reset_ledger(args.database_url)
        ledger_sqlite.make_twins(args.database_url)
        data["copy_seconds"] = time.perf_counter() - started
    return data


def run(args, command):
    if args.docs_from:
        return _docs_from(args.docs_from)
    started = time.perf_counter()
    data = _prepare(args)
    app = rounds.make_app(args.database_url)
    first, last = _store(args).order_id_range(args.database_url)
    print(f"accruing {data['lines']:,} lines of {data['orders']:,} orders in {args.rounds} rounds, "
          f"{args.batch} orders per call ...")
    results = [_round(args, app, a, b, i) for i, (a, b) in enumerate(_slices(first, last, args.rounds))]
    print("verifying the ledger ...")
    verifies = _verify(args, app)
    problems = _store(args).check_result(args.database_url, data["lines"])
    summary = ledger_report.summarise(results, verifies, ACCRUAL_MIN_RATIO, VERIFY_MIN_PER_SECOND, problems,
                                     _store(args).LABELS)
    ledger_report.print_summary(summary)
    summary["wall_seconds"] = time.perf_counter() - started
    summary["finished"] = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    saved = {k: v for k, v in vars(args).items() if k not in ("docs_from",)}
    _save(args.save, command=command, args=saved, data=data, results=results, verifies=verifies, summary=summary)
    if args.write_docs:
        path = ledger_report.write_docs(command=command, args=args, data=data, results=results, verifies=verifies,
                                        summary=summary)
        print(f"wrote {path}")
    return 0 if summary["ok"] else 1
