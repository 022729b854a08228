"""The monitoring benchmark: the monitoring scan over 20,000 households with 24 months of
ledger and income data, and the reconciliation of a cooperative with 100,000 paid lines,
each against the single hand-written SQL aggregate query over the same rows.

Targets (issue 6): each at least 0.25 x the speed of its baseline, measured side by
side on PostgreSQL.

The subjects are the application's own functions, called in-process as its command and
page call them: monitoring.scan.run_scan() (what `flask monitoring scan` and its job
run) and monitoring.reconciliation.reconcile() (what the audit page, its exports and
the API call). Each round runs the baseline and the subject one after the other, the
order alternating, so drift on the shared machine lands on both; figures are medians.

On SQLite (`--database-url sqlite:///PATH`) the PostgreSQL `--source-url` is seeded as a
PostgreSQL run would seed it and copied into the file (bench/sqlite_copy.py); the app and
the yardsticks (sent with sqlite3) then run on that file, and the yardsticks' answers are
checked against the source's, so both databases answered the same questions.

The reconciliation builds on the latest recorded full verification of the ledger's
chain (run nightly: `flask monitoring verify-ledger`): it is measured that way, after
one such verification (timed and reported), and also as if the chain had never been
verified, when it hashes every entry of the period itself (reported, worst case).
"""
import json
import os
from datetime import datetime, timezone
from types import SimpleNamespace

from . import monitoring_report as report, monitoring_rounds as rounds, monitoring_sqlite, sqlite_copy
from .machine import wait_until_quiet
from .monitoring_seed import describe, seed_monitoring

HELP = "income monitoring: the scan over 20k households and a 100k-line reconciliation vs SQL aggregates"
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/bench_monitoring"
SAVED = os.path.join("instance", "bench-monitoring-last.json")
MIN_RATIO = 0.25
SQLITE = True


def add_arguments(p):
    p.add_argument("--database-url", default=DEFAULT_URL,
                   help="PostgreSQL database to (re)build and seed (its public schema is DROPPED), or "
                        "sqlite:///PATH: a SQLite file rebuilt from --source-url (default: %(default)s)")
    p.add_argument("--source-url", default=DEFAULT_URL,
                   help="with a SQLite --database-url: the PostgreSQL database seeded and copied from "
                        "(default: %(default)s)")
    p.add_argument("--households", type=int, default=20_000, help="households (default: %(default)s)")
    p.add_argument("--lines", type=int, default=100_000,
                   help="paid order lines of the reconciled cooperative (default: %(default)s)")
    p.add_argument("--cooperatives", type=int, default=200, help="cooperatives (default: %(default)s)")
    p.add_argument("--rounds", type=int, default=5,
                   help="interleaved rounds of subject and baseline; medians (default: %(default)s)")
    p.add_argument("--worst-rounds", type=int, default=3,
                   help="rounds of the never-verified reconciliation (default: %(default)s)")
    p.add_argument("--reuse-data", action="store_true",
                   help="skip seeding when the database already holds these counts")
    p.add_argument("--max-others", type=float, default=0.5, metavar="SHARE",
                   help="before each measurement wait until other processes use at most this share of the "
                        "CPUs (default: %(default)s)")
    p.add_argument("--quiet-timeout", type=int, default=10, help="longest wait for that, in s (default: %(default)s)")
    p.add_argument("--write-docs", action="store_true", help="write the results into docs/benchmarks.md")
    p.add_argument("--save", default=SAVED, metavar="PATH",
                   help="where to keep this run's figures as JSON (default: %(default)s)")
    p.add_argument("--docs-from", metavar="PATH",
                   help="measure nothing: rewrite the docs section from figures saved by an earlier run")


def _data(args):
    """Seed (or reuse) the PostgreSQL database; on SQLite, seed the source and copy it."""
    if not sqlite_copy.is_sqlite(args.database_url):
        return _seeded(args, args.database_url)
    data = _seeded(args, args.source_url)
    sqlite_copy.copy(args.source_url, args.database_url, reuse=args.reuse_data)
    return {**data, "database_size": monitoring_sqlite.file_size(args.database_url), "source": args.source_url}


def _seeded(args, url):
    if args.reuse_data:
        try:
            data = describe(url)
        except Exception as exc:  # noqa: BLE001 - no database or no schema yet: seed it
            print(f"cannot reuse {url}: {exc}")
        else:
            if (data["households"], data["big_paid_lines"]) == (args.households, args.lines):
                print(f"reusing the data in {url}: {data}")
                return data
    print(f"seeding {url} ...")
    return seed_monitoring(url, households=args.households, lines=args.lines, cooperatives=args.cooperatives)


def _pair(args, index, baseline, subject):
    """One round: baseline and subject, the order alternating; ({seconds, others}, ...)."""
    out = {}
    for kind in (("baseline", "subject") if index % 2 == 0 else ("subject", "baseline")):
        wait_until_quiet(args.database_url, args.max_others, args.quiet_timeout)
        result, seconds, others = rounds.timed(args.database_url, baseline if kind == "baseline" else subject)
        seconds = result.get("seconds", seconds) if isinstance(result, dict) else seconds
        out[kind] = {"seconds": seconds, "others": others, "result": result}
    return out["baseline"], out["subject"]


def _measure(args, name, count, baseline, subject):
    runs = []
    baseline(), subject()  # warm the caches (and SQLAlchemy's statement cache); not timed
    for index in range(count):
        base, subj = _pair(args, index, baseline, subject)
        runs.append({"baseline": base["seconds"], "subject": subj["seconds"], "baseline_others": base["others"],
                     "subject_others": subj["others"]})
        print(f"  {name} {index + 1}/{count}: subject {subj['seconds']:.3f}s, baseline {base['seconds']:.3f}s, "
              f"ratio {base['seconds'] / subj['seconds']:.2f}; others' CPU {subj['others']:.0%}/{base['others']:.0%}")
        last = (base["result"], subj["result"])
    return runs, last


def _scan(args, app, conn):
    params = rounds.scan_params()
    runs, (rows, result) = _measure(args, "scan", args.rounds, lambda: {"rows": rounds.scan_baseline(conn, params)},
                                    lambda: rounds.scan_subject(app))
    expected = rounds.hits_by_the_rules(rows["rows"], rounds.line_fen(conn), app.config["MONITORING_DROP_PCT"])
    check = {"households": result["households"], "opened": result["opened"], "baseline_rows": len(rows["rows"]),
             "hits_by_the_baseline": expected}
    return {"runs": runs, "check": check,
            "problems": [] if result["opened"] == expected and result["households"] == len(rows["rows"])
            else [f"the scan opened {result['opened']} cases; the baseline's rows give {expected} hits"]}


def _reconcile(args, app, conn, coop_id, never_verified, count):
    params = rounds.reconcile_params(coop_id)
    name = "reconciliation (never verified)" if never_verified else "reconciliation"
    runs, (base, result) = _measure(args, name, count, lambda: rounds.reconcile_baseline(conn, params),
                                    lambda: rounds.reconcile_subject(app, coop_id, never_verified))
    wrong = [k for k in rounds.RECONCILE_FIGURES if int(base[k]) != result[k]]
    problems = [f"{name}: {k} is {result[k]} in the app, {base[k]} in the baseline" for k in wrong]
    if result["discrepancies"]:
        problems.append(f"{name}: {len(result['discrepancies'])} discrepancies in books seeded clean")
    check = {**{k: result[k] for k in rounds.RECONCILE_FIGURES}, "households": len(result["households"]),
             "discrepancies": len(result["discrepancies"]), "verified_entries": result["ledger"]["verified_entries"]}
    return {"runs": runs, "check": check, "problems": problems}


def _same_as_source(args, conn, coop_id, check) -> list[str]:
    """SQLite only: do the yardsticks answer on the copy as on its PostgreSQL source? (not timed)"""
    with rounds.connect(args.source_url) as source:
        problems, check["rows_same_as_source"] = monitoring_sqlite.same_answers(
            source, conn, rounds.SCAN_SQL, rounds.scan_params(), rounds.RECONCILE_SQL, rounds.reconcile_params(coop_id))
    check["same_as_source"] = not problems
    print(f"  the yardsticks on {args.source_url} and on the SQLite copy: "
          f"{'the same answers' if not problems else '; '.join(problems)}")
    return problems


def run(args, command):
    if args.docs_from:
        with open(args.docs_from, encoding="utf-8") as fh:
            saved = json.load(fh)
        saved["args"] = SimpleNamespace(**saved["args"])
        print(f"wrote {report.write_docs(**saved)}")
        return 0 if saved["summary"]["ok"] else 1
    data = _data(args)
    rounds.vacuum(args.database_url)  # fresh statistics, and no dead rows left by earlier runs
    app = rounds.make_app(args.database_url)
    with rounds.connect(args.database_url) as conn:
        print("the monitoring scan ...")
        scan = _scan(args, app, conn)
        print("the full verification of the ledger's chain (the nightly job), once ...")
        verification = rounds.record_verification(app)
        print(f"  {verification}")
        print("the reconciliation ...")
        coop = data["big_cooperative"]
        steady = _reconcile(args, app, conn, coop, False, args.rounds)
        worst = _reconcile(args, app, conn, coop, True, args.worst_rounds)
        rounds.forget_verification(app, verification.pop("audit_id"))
        if sqlite_copy.is_sqlite(args.database_url):
            scan["problems"] += _same_as_source(args, conn, coop, scan["check"])
    summary = report.summarise(scan, steady, worst, verification, MIN_RATIO)
    report.print_summary(summary)
    saved = {"command": command, "args": vars(args), "data": data, "summary": summary,
             "url": args.database_url, "when": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}
    os.makedirs(os.path.dirname(args.save) or ".", exist_ok=True)
    with open(args.save, "w", encoding="utf-8") as fh:
        json.dump(saved, fh, indent=1, default=str)
    if args.write_docs:
        saved["args"] = args
        print(f"wrote {report.write_docs(**saved)}")
    return 0 if summary["ok"] else 1
