"""The rounds of the live benchmark: a crowd of viewers joins one app's event stream,
the host pins while they watch, and (real app only) a flash sale runs while the host
keeps pinning.

Besides the viewers' own clocks, each round reads the servers' CPU time (utime + stime
of the gunicorn workers) around its steps: per viewer who joined, and per pin beyond the
servers' idle rate (keepalives, viewer counts) measured just before the pins. CPU time
hardly depends on what else runs on a shared machine, so it says what a dedicated
machine would need where the latencies say what this one gave.
"""
import os
import threading
import time
from contextlib import nullcontext
from dataclasses import dataclass

from . import live_seed, live_sqlite
from .live_phase import Crowd, latencies, summary
from .live_sale import flash_sale, pin, post_json
from .machine import CpuMeter
from .sqlite_copy import is_sqlite

TARGET_SECONDS = 1.0


@dataclass(frozen=True)
class Database:
    """The database under test (PostgreSQL or a SQLite file) and the PostgreSQL database
    whose backends count as ours in the CPU meter (on SQLite: its source, idle in a round)."""
    url: str
    meter_url: str

    @property
    def sqlite(self) -> bool:
        return is_sqlite(self.url)


def cpu_seconds(servers) -> float:
    """CPU time so far of every worker of these gunicorns (and their masters)."""
    total = 0
    for server in servers:
        for pid in server.pids():
            try:
                with open(f"/proc/{pid}/stat") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])
            except (OSError, IndexError, ValueError):
                pass
    return total / os.sysconf("SC_CLK_TCK")


def bare_round(database, bare, args) -> dict:
    def pin_once(_k):
        started = time.monotonic()
        _, body = post_json(bare.port, "/pin", {})
        return started, body["id"]

    with CpuMeter(database.meter_url) as machine, \
            Crowd(bare.port, "/events", args.viewers, args.rate, args.generator_procs) as crowd:
        joined = _join(crowd, bare, args)
        pins, pin_costs = _pins(args, [bare], pin_once)
        final = crowd.stop()
    return _result("bare", final, crowd, joined, machine, pin_costs, pins_idle=latencies(pins, final, args.viewers))


def app_round(database, events, pages, show, tokens, args) -> dict:
    servers = [events] if pages is events else [events, pages]
    # the proxy sends the host's live controls to the events service (docs/deploy.md): a pin
    # must not queue behind a flash sale's checkouts on the pages service
    host = events if args.pins_to == "events" else pages

    def pin_once(k):
        product = show.other_product_id if k % 2 == 0 else show.flash_product_id
        return pin(host.port, show.show_id, product, show.host_token)

    path = f"/api/v1/livestreams/{show.show_id}/events"
    wal = live_sqlite.WalMeter(database.url) if database.sqlite else nullcontext()
    with wal, CpuMeter(database.meter_url) as machine, \
            Crowd(events.port, path, args.viewers, args.rate, args.generator_procs) as crowd:
        joined = _join(crowd, events, args)
        idle, pin_costs = _pins(args, servers, pin_once)
        sale, during = _sale_while_pinning(database.url, pages, host, show, tokens, args)
        time.sleep(args.pin_interval)  # the last pin's stragglers
        # while every viewer still streams: can a checkpoint reach the end of the WAL?
        probe = live_sqlite.checkpoint_probe(database.url) if database.sqlite else None
        final = crowd.stop()
    ids = live_seed.pin_event_ids(database.url, show.show_id)
    if len(ids) != len(idle) + len(during):
        raise RuntimeError(f"{len(idle) + len(during)} pins made but {len(ids)} pin events stored")
    result = _result("app", final, crowd, joined, machine, pin_costs,
                     pins_idle=latencies(list(zip(idle, ids)), final, args.viewers),
                     pins_sale=latencies(list(zip(during, ids[len(idle):])), final, args.viewers))
    result["sale"] = sale
    if probe is not None:
        result["wal"] = {**wal.summary(), "probe": probe}
        print(f"    SQLite WAL: {_fmt_wal(result['wal'])}")
    return result


def _join(crowd, server, args) -> dict:
    """Wait until every viewer streams; the time it took and the server CPU per viewer."""
    before = cpu_seconds([server])
    took = crowd.wait_streaming(args.ramp_timeout)
    streaming = crowd.last.get("streaming", 0)
    per_worker = server.connections_per_worker()
    print(f"    {streaming} of {crowd.viewers} viewers streaming after {took:.1f} s; per worker: "
          f"{sorted(per_worker.values())}")
    return {"ramp_s": took, "per_worker": sorted(per_worker.values()),
            "join_cpu_ms": (cpu_seconds([server]) - before) * 1000 / max(streaming, 1)}


def _pins(args, servers, pin_once):
    """The host's pins, args.pin_interval apart, after measuring the servers' idle CPU rate."""
    quiet = args.pin_interval * 2
    q0 = cpu_seconds(servers)
    time.sleep(quiet)
    idle_rate = (cpu_seconds(servers) - q0) / quiet
    p0, t0, made, took = cpu_seconds(servers), time.monotonic(), [], []
    for k in range(args.pins):
        sent = time.monotonic()
        made.append(pin_once(k))
        took.append(time.monotonic() - sent)
        time.sleep(args.pin_interval)
    spent = cpu_seconds(servers) - p0 - idle_rate * (time.monotonic() - t0)
    return made, {"pin_cpu_ms": max(spent, 0.0) * 1000 / max(len(made), 1),
                  "pin_request_ms": sorted(t * 1000 for t in took)}


def _sale_while_pinning(url, pages, host, show, tokens, args):
    """Pin the flash item, let every buyer buy at once (on the pages service), and keep
    pinning (on the host's service) while they do."""
    pins = [pin(host.port, show.show_id, show.flash_product_id, show.host_token)]
    outcome, failed = {}, []
    rush = threading.Thread(target=lambda: outcome.update(sale(url, pages, show, tokens, "while viewers watch")))
    rush.start()
    while (rush.is_alive() or len(pins) < 3) and not failed:
        time.sleep(args.pin_interval / 2)
        product = show.other_product_id if len(pins) % 2 else show.flash_product_id
        try:
            pins.append(pin(host.port, show.show_id, product, show.host_token))
        except RuntimeError as err:  # the host's pin refused during the rush: reported, no more pins
            print(f"    {err}")
            failed.append(str(err))
    rush.join()
    outcome["pin_failures"] = failed
    return outcome, pins


def sale(url, pages, show, tokens, label) -> dict:
    outcome = flash_sale([pages.port], show.show_id, show.flash_product_id, tokens)
    outcome.update(label=label, database=live_seed.sold_in_database(url, show.show_id, show.flash_product_id))
    print(f"    {label}: {outcome['by_status']} in {outcome['seconds']:.1f} s; database: {outcome['database']}")
    return outcome


def _result(name, final, crowd, joined, machine, pin_costs, **pin_sets) -> dict:
    out = {"name": name, "viewers": crowd.viewers, "peak_streaming": crowd.peak_streaming,
           "open_at_stop": final.get("open_at_stop", 0), "errors": final.get("errors", {}), **joined,
           **pin_costs, "generator_rss_kb": final.get("peak_rss_kb", 0),
           "generator_cpu_s": final.get("cpu_seconds", 0.0), "generator_procs": final.get("processes", 1),
           "others_cpu": machine.others, "ours_cpu": machine.ours}
    for label, per_pin in pin_sets.items():
        out[label] = summary(per_pin, TARGET_SECONDS)
        print(f"    {label.replace('_', ' ')}: {_fmt(out[label])}")
    requests = pin_costs["pin_request_ms"]
    print(f"    server CPU: {joined['join_cpu_ms']:.1f} ms per viewer joining, {pin_costs['pin_cpu_ms']:.0f} ms per "
          f"pin; pin requests took {requests[len(requests) // 2]:.0f} ms (median), {requests[-1]:.0f} ms (max)")
    if out["errors"]:
        print(f"    viewer errors: {out['errors']}")
    return out


def _fmt_wal(w) -> str:
    p = w["probe"]
    return (f"{w['first_bytes'] / 2**20:.1f} MB at the start, peak {w['peak_bytes'] / 2**20:.1f} MB, "
            f"{w['last_bytes'] / 2**20:.1f} MB at the end; checkpoint while streaming: {p['checkpointed']} of "
            f"{p['frames']} frames ({p['pinned']} held back by a reader's snapshot)")


def _fmt(s):
    if not s.get("n"):
        return "none"
    return (f"{s['pins']} pins, p50 {s['p50'] * 1000:.0f} ms, p99 {s['p99'] * 1000:.0f} ms, max "
            f"{s['max'] * 1000:.0f} ms, {s['share_within']:.2%} within 1 s (worst pin {s['worst_pin_share']:.2%}), "
            f"{s['missing']} never arrived")
