"""What `python -m bench all` runs: each benchmark's options at scale and in --quick mode,
and why a benchmark runs on PostgreSQL only.

The scale data set of issue 7 (100,000 products, 2,000 cooperatives, 20,000 households,
1,000,000 order lines and their ledger) is spread over the benchmarks that use it, each
seeding its own database with its own seeder (bench/seed.py, bench/ledger_seed.py,
bench/monitoring_seed.py, bench/flash_data.py, bench/live_seed.py): one database per
benchmark, so no benchmark's rebuild destroys another's data. Options a benchmark does
not (or no longer) offer are left out, so a change to one module cannot break `all`.
"""
import argparse

#: options for the figures of record (the scale data set); the benchmark's defaults fill the rest
FULL = {
    "storefront": {"--products": 100_000, "--cooperatives": 2_000, "--rounds": 3},
    "flash_sale": {"--products": 100_000, "--cooperatives": 2_000},
    "ledger": {"--lines": 1_000_000, "--households": 20_000, "--cooperatives": 2_000, "--verify-runs": 1},
    "monitoring": {"--households": 20_000, "--rounds": 4, "--worst-rounds": 2},
    "process_model": {"--quiet-timeout": 30},
}
#: (fewer rounds than each benchmark's own default where that keeps a benchmark near 10 minutes per
#: database: the whole table, both databases, then fits in a few hours; the data stays at scale)

#: small data, short durations: the whole suite in a few minutes, to see that it works
QUICK = {
    "storefront": {"--products": 2_000, "--cooperatives": 50, "--duration": 2, "--rounds": 1, "--warmup": 1,
                   "--retries": 0},
    "flash_sale": {"--products": 1_000, "--cooperatives": 20, "--buyers": 100, "--units": 10, "--rounds": 1,
                   "--bare-duration": 2, "--warmup": 1, "--timeout": 60, "--retries": 0},
    "ledger": {"--lines": 2_000, "--households": 200, "--cooperatives": 20, "--rounds": 1, "--verify-runs": 1},
    "monitoring": {"--households": 300, "--lines": 2_000, "--cooperatives": 10, "--rounds": 1,
                   "--worst-rounds": 1},
    "live": {"--viewers": 100, "--rounds": 1, "--pins": 2, "--pin-interval": 0.5, "--buyers": 20, "--quota": 5,
             "--ramp-timeout": 60},
    "process_model": {"--viewers": 50, "--rounds": 1, "--duration": 3, "--layouts": "split,single",
                      "--connect-wait": 30},
    "lighthouse": {"--runs": 1},
}
#: quick runs do not wait for a quiet machine
QUICK_COMMON = {"--max-others": 1, "--quiet-timeout": 1}

#: why a benchmark has no SQLite figures (read from its code; `all` runs SQLite only where a
#: module says it can: a true `SQLITE` attribute, or "sqlite" in its --database-url help)
POSTGRES_ONLY = {}  # every benchmark of bench/ runs on both today
DEFAULT_REASON = "its --database-url takes a PostgreSQL URL only"


def options_of(module):
    """{option string: argparse action} of a benchmark's command line."""
    parser = argparse.ArgumentParser(add_help=False)
    module.add_arguments(parser)
    return {opt: action for action in parser._actions for opt in action.option_strings}


def supports_sqlite(module):
    if getattr(module, "SQLITE", None) is not None:
        return bool(module.SQLITE)
    action = options_of(module).get("--database-url")
    return bool(action and "sqlite" in (action.help or "").lower())


def sqlite_reason(name):
    return POSTGRES_ONLY.get(name, DEFAULT_REASON)


def argv_for(name, module, *, quick, database_url, redis_url, extra):
    """The command-line options of one benchmark run, keeping only those it offers."""
    known = options_of(module)
    wanted = {"--database-url": database_url, "--write-docs": True}
    if redis_url:
        wanted["--redis-url"] = redis_url
    wanted.update((QUICK_COMMON | QUICK.get(name, {})) if quick else FULL.get(name, {}))
    wanted.update(extra)
    argv, skipped = [], []
    for option, value in wanted.items():
        if option not in known:
            skipped.append(option)
        elif value is True:
            argv.append(option)
        elif value is not None and value is not False:
            argv += [option, str(value)]
    # the shared options go to whoever offers them: only a missing benchmark-specific one is news
    return argv, [o for o in skipped if o not in ("--redis-url", *QUICK_COMMON)]
