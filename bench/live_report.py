"""The live benchmark's tables: on the terminal and in its section of docs/benchmarks.md."""
import json
from datetime import datetime, timezone

from .docs import write_section
from .live_sqlite import facts as sqlite_facts
from .live_viewers import event_loop_name
from .machine import facts as machine_facts

PIN_HEAD = ("round", "app", "pins", "viewers streaming", "open at end", "p50 ms", "p99 ms", "max ms",
            "within 1 s", "worst pin", "pin request ms (median)", "server CPU ms per pin", "per worker",
            "all joined after s", "server CPU ms per viewer joining", "others' CPU")
SALE_HEAD = ("flash sale", "buyers", "answers", "201 (live price)", "5xx", "p50 ms", "p99 ms", "max ms",
             "quota", "sold (counter)", "live units on orders", "stock left", "regular-price lines")


def _median_ms(values):
    return f"{values[len(values) // 2]:.0f}" if values else "–"


def _ms(x):
    return "∞" if x == float("inf") else f"{x * 1000:.0f}"


def pin_rows(results):
    rows, n = [], {"app": 0, "bare": 0}
    for r in results["rounds"]:
        n[r["name"]] += 1
        for label in ("pins_idle", "pins_sale"):
            s = r.get(label)
            if not s or not s.get("n"):
                continue
            what = {"app": "real app", "bare": "bare yardstick"}[r["name"]]
            what += ", during the flash sale" if label == "pins_sale" else ""
            rows.append((str(n[r["name"]]), what, str(s["pins"]), f"{r['peak_streaming']:,}",
                         f"{r['open_at_stop']:,}", _ms(s["p50"]), _ms(s["p99"]), _ms(s["max"]),
                         f"{s['share_within']:.2%}", f"{s['worst_pin_share']:.2%}",
                         _median_ms(r["pin_request_ms"]) if label == "pins_idle" else "–",
                         f"{r['pin_cpu_ms']:.0f}" if label == "pins_idle" else "–",
                         "/".join(str(c) for c in r["per_worker"]), f"{r['ramp_s']:.0f}",
                         f"{r['join_cpu_ms']:.1f}", f"{r['others_cpu']:.0%}"))
    return rows


def sale_rows(results):
    rows = []
    for s in results["sales"]:
        d = s["database"]
        rows.append((s["label"], str(s["buyers"]), ", ".join(f"{k}: {v}" for k, v in sorted(s["by_status"].items())),
                     str(s["created"]), str(s["server_errors"]), f"{s['p50_ms']:.0f}", f"{s['p99_ms']:.0f}",
                     f"{s['max_ms']:.0f}", str(d["quota"]), str(d["sold_counter"]), str(d["live_units"]),
                     str(d["stock_left"]), str(d["regular_price_lines"])))
    return rows


def memory_rows(results):
    rows = []
    labels = {"app-events": "real app, event streams", "app-pages": "real app, pages and API",
              "bare": "bare yardstick"}
    for name, m in results["memory"].items():
        label = labels.get(name, name)
        workers = ", ".join(f"{kb / 1024:.0f}" for kb in m["workers_kb"])
        rows.append((f"gunicorn, {label}", workers, f"{m['master_kb'] / 1024:.0f}", f"{m['total_kb'] / 1024:.0f}"))
    gen = max((r["generator_rss_kb"] for r in results["rounds"]), default=0)
    cpu = max((r["generator_cpu_s"] for r in results["rounds"]), default=0.0)
    procs = max((r.get("generator_procs", 1) for r in results["rounds"]), default=1)
    rows.append((f"load generator ({procs} processes)", f"{gen / 1024:.0f}", "–",
                 f"– (CPU {cpu:.1f} s per round, all processes, max)"))
    return rows


MEM_HEAD = ("process", "peak RSS per worker, MB", "master MB", "peak total MB")


def _table(head, rows):
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


def _verdicts(verdicts):
    lines = ["| target | rule | measured | verdict |", "|---|---|---|---|"]
    return "\n".join(lines + [f"| {v['name']} | {v['rule']} | {v['measured']} | "
                              f"{'PASS' if v['ok'] else '**FAIL**'} |" for v in verdicts])


def error_summary(lines) -> list[str]:
    """Server log errors grouped: how many of each (what failed, the exception's last line)."""
    counts = {}
    for line in lines:
        try:
            record = json.loads(line)
            key = f"{record.get('message', '')[:80]} → {(record.get('exc_info') or '').strip().splitlines()[-1][:120]}"
        except (ValueError, IndexError, AttributeError):
            key = line[:200]
        counts[key] = counts.get(key, 0) + 1
    return [f"{n} × {key}" for key, n in sorted(counts.items(), key=lambda kv: -kv[1])]


def print_results(results, verdicts):
    for head, rows in ((PIN_HEAD, pin_rows(results)), (SALE_HEAD, sale_rows(results)),
                       (MEM_HEAD, memory_rows(results))):
        cells = [head] + list(rows)
        widths = [max(len(c[i]) for c in cells) for i in range(len(head))]
        for line in cells:
            print("  ".join(c.ljust(w) for c, w in zip(line, widths)))
        print()
    for v in verdicts:
        print(f"{'PASS' if v['ok'] else 'FAIL'}  {v['name']:<26} {v['rule']:<60} {v['measured']}")
    for line in error_summary(results["server_errors"])[:5]:
        print("server log:", line)


def write_docs(*, command, args, results, verdicts, database, counts, gunicorn):
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    title = "## Live room: 2,000 viewers on the event stream, pins, a flash sale"
    out = [title + (" — on SQLite" if database.sqlite else ""), "", *_what(args), "", *_sqlite_intro(database, counts),
           f"Run on {when}:", "", "```sh", command, "```", "",
           "### Verdicts", "", _verdicts(verdicts), "",
           "### Pin to viewer", "", _table(PIN_HEAD, pin_rows(results)), "", *_pin_notes(args),
           *_discarded(results, args), "",
           "### Flash sale", "", _table(SALE_HEAD, sale_rows(results)), "", *_sale_notes(args, database), "",
           *_wal_section(results),
           "### Memory", "", _table(MEM_HEAD, memory_rows(results)), "",
           "Per worker and master: peak RSS over the whole run (`VmHWM`); total: the highest sum of RSS over "
           "master and workers, sampled every 0.5 s. The load generator's own peak is its `VmHWM`.", ""]
    errors = error_summary(results["server_errors"])
    if errors:
        out += ["Errors in the servers' logs during this run:", ""] + [f"- {e}" for e in errors[:8]] + [""]
    out += ["### Setup", "", "| | |", "|---|---|"]
    facts = sqlite_facts(database.url, database.meter_url) if database.sqlite else machine_facts(database.url)
    out += [f"| {k} | {v} |" for k, v in facts.items()]
    out += [f"| gunicorn `{name}` | `{options}` |" for name, options in gunicorn.items()]
    out += [f"| viewers | {args.viewers:,}, starting to connect at {args.rate:.0f}/s from distinct loopback "
            f"addresses, {args.generator_procs} processes of `bench/live_viewers.py` ({event_loop_name()} event "
            "loop) |",
            f"| rounds | {args.rounds} per app, alternating; {args.pins} pins {args.pin_interval} s apart, then "
            "the flash sale with a pin every half interval |", ""]
    return write_section("live-sqlite" if database.sqlite else "live", "\n".join(out))


#: the rows a reader of the SQLite section wants counted: what the rounds and the sale use
COUNTED = ("users", "api_tokens", "cooperatives", "products", "shows", "lineup_items")


def _sqlite_intro(database, counts):
    if not database.sqlite:
        return []
    data = ", ".join(f"{counts.get(t, 0):,} {t}" for t in COUNTED)
    return [f"On SQLite: the app's gunicorn services (event streams and pages) share the file "
            f"`{database.url}` in WAL mode, as the app configures it (`marketplace/core/db.py`). Its rows were "
            f"seeded into `{database.meter_url}` exactly as the PostgreSQL run seeds them and copied "
            f"(`bench/sqlite_copy.py`): {data}.", "",
            "n/a on SQLite: the CPU of PostgreSQL backends in “others' CPU” (SQLite runs inside the gunicorn "
            "workers, whose CPU is already counted as ours).", ""]


WAL_HEAD = ("round", "WAL MB at start", "peak WAL MB", "WAL MB at end", "frames in WAL (probe)",
            "checkpointed", "held back by a reader")


def _wal_section(results):
    rows = [(str(n), f"{w['first_bytes'] / 2**20:.1f}", f"{w['peak_bytes'] / 2**20:.1f}",
             f"{w['last_bytes'] / 2**20:.1f}", str(w["probe"]["frames"]), str(w["probe"]["checkpointed"]),
             str(w["probe"]["pinned"]))
            for n, w in enumerate((r["wal"] for r in results["rounds"] if r.get("wal")), 1)]
    if not rows:
        return []
    return ["### SQLite write-ahead log", "", _table(WAL_HEAD, rows), "",
            "The WAL file's size, sampled every 0.5 s through each real-app round (viewers joining, pins, the "
            "flash sale). Once the sale is over and every viewer still streams, the benchmark runs "
            "`PRAGMA wal_checkpoint(PASSIVE)` from its own connection: a stream holding a read transaction "
            "open would keep the frames after its snapshot from being checkpointed (“held back”), and the WAL "
            "would then grow for as long as it streams.", ""]


def _what(args):
    pins = ("together with the host's pins, as the proxy of docs/deploy.md sends them" if args.pins_to == "events"
            else "(the host's pins go to the pages service: `--pins-to pages`)")
    layout = ("the production layout of `gunicorn.conf.py`: the event streams on a gevent service "
              f"(`GUNICORN_ROLE=events`) {pins}; pages and the rest of the JSON API, so the buyers' checkouts, "
              "on a gthread service (`GUNICORN_ROLE=pages`)" if args.layout == "split" else
              "one gevent pool for the event streams, pages and the JSON API (`GUNICORN_ROLE=all`)")
    return [
        f"What it measures: the real app in {layout}; production config, `REDIS_URL` set so rooms fan out "
        "through Redis pub/sub, card payments through Stripe's API served by localstripe. A crowd of viewers "
        "joins one show's `/api/v1/livestreams/{id}/events` stream; while they watch, the host pins products "
        "through the API and each viewer's receipt of each `pin` event is timed against the moment the host's "
        "request was sent. Then the host pins the flash item and every buyer sends `POST /api/v1/checkouts` at "
        "the same instant (one connection and loopback address per buyer, released by a barrier) while the "
        "host keeps pinning; the database is then asked what was sold. The yardstick is a bare Flask app on "
        "the same gevent settings whose stream is nothing but Redis pub/sub → SSE (`bench/live_bare_app.py`); "
        "rounds of the two alternate, with the same crowd. A flash sale nobody watches, first, is the sale's "
        "baseline.", "",
        "Targets: at least 2,000 viewers held on a 2-core machine; a pin reaches 99 % of them within 1 s; the "
        "flash sale sells exactly its quota; peak memory per web worker at most 200 MB (issue 7)."]


def _discarded(results, args):
    gone = results.get("discarded") or []
    if not gone:
        return []
    listed = "; ".join(f"{d['name']} (others {d['others_cpu']:.0%}, within 1 s "
                       f"{d['share_within']:.2%})" if d.get("share_within") is not None else
                       f"{d['name']} (others {d['others_cpu']:.0%})" for d in gone)
    return ["", f"Rounds measured again because other processes took more than {args.max_others:.0%} of the CPUs "
                f"during them (set aside, not in the table): {listed}."]


def _pin_notes(args):
    return [
        "Latency: from the host's pin request leaving the benchmark to the viewer's socket delivering the event "
        "in the load generator (both `time.monotonic()`), so it includes the pin request itself (“pin request "
        "ms”), Redis, each worker's fan-out to its streams and the generator's own delay in reading thousands "
        "of sockets. “within 1 s” pools every pin and viewer of the round; “worst pin” is the lowest share "
        "of one pin; a viewer that never got a pin counts as later than 1 s. “server CPU ms per pin”: CPU time "
        "of the gunicorn workers during the pins, less their idle rate (keepalives, viewer counts) measured just "
        "before, per pin: what one pin costs to deliver, which does not depend on the neighbours. “server CPU "
        "ms per viewer joining”: the stream workers' CPU time from the first connection until all viewers "
        "streamed, per viewer. “per worker”: established viewer connections per gunicorn worker. “others' "
        "CPU”: share of the machine's CPU time used by processes outside the benchmark during the round (the "
        "machine is shared with other people's test suites); a round starts once they use at most "
        f"{args.max_others:.0%} of it over 2 s (waiting up to {args.quiet_timeout:.0f} s) and is measured again "
        f"(up to {args.retries} times) when they took more during it. The load generator is "
        f"{args.generator_procs} processes, each holding its share of the viewers, so reading thousands of "
        "sockets when a pin goes out is spread over the cores."]


def _sale_notes(args, database):
    one_writer = (["", "On SQLite one transaction writes at a time (a checkout begins `BEGIN IMMEDIATE` and waits "
                   "its turn up to the busy timeout); the target is the one stated for PostgreSQL."]
                  if database.sqlite else [])
    return [
        f"Each sale: {args.buyers} buyers, one unit each (per-buyer limit 1), live quota {args.quota}, the "
        "product's stock equal to the quota (so a buyer after the quota gets 409 `insufficient_stock` rather "
        "than the regular price). “sold (counter)” is `lineup_items.sold`, “live units on orders” the "
        "units on live-price order lines not cancelled; the sale is exact when both equal the quota. Latency "
        "is per buyer, from the barrier's release to the answer."] + one_writer
