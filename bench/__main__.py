"""`python -m bench storefront [--products N] [--cooperatives N] [--duration S] ... [--write-docs]`.

Later benchmarks add their own subcommand here.
"""
import argparse
import shlex
import signal
import sys

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/bench"


def parser():
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="benchmark", required=True)
    s = sub.add_parser("storefront", help="catalog, search and product pages vs a bare Flask+SQLAlchemy page")
    s.add_argument("--database-url", default=DEFAULT_URL,
                   help="PostgreSQL database to (re)build and seed; its public schema is DROPPED "
                        "(default: %(default)s)")
    s.add_argument("--products", type=int, default=100_000, help="products to seed (default: %(default)s)")
    s.add_argument("--cooperatives", type=int, default=2_000, help="cooperatives to seed (default: %(default)s)")
    s.add_argument("--duration", type=int, default=12,
                   help="seconds of load per target per round (default: %(default)s)")
    s.add_argument("--rounds", type=int, default=5,
                   help="interleaved rounds; figures are medians (default: %(default)s)")
    s.add_argument("--warmup", type=int, default=5,
                   help="seconds of unmeasured load per target first (default: %(default)s)")
    s.add_argument("--concurrency", type=int, default=8,
                   help="keep-alive connections, = gunicorn workers x threads by default (default: %(default)s)")
    s.add_argument("--engine", choices=("auto", "wrk", "python"), default="auto",
                   help="load generator: wrk if installed, else Python (default: %(default)s)")
    s.add_argument("--max-others", type=float, default=0.15, metavar="SHARE",
                   help="measure only while other processes use at most this share of the CPUs; a round "
                        "where they took more is repeated (default: %(default)s)")
    s.add_argument("--retries", type=int, default=2, help="repeats of a noisy round (default: %(default)s)")
    s.add_argument("--quiet-timeout", type=int, default=120,
                   help="longest wait, in seconds, for a quiet machine before a round (default: %(default)s)")
    s.add_argument("--reuse-data", action="store_true",
                   help="skip seeding when the database already has exactly these counts")
    s.add_argument("--only", metavar="KINDS",
                   help="comma-separated subset of catalog,search,product (the bare page always runs)")
    s.add_argument("--app", default="wsgi:app",
                   help="gunicorn app spec of the real app, to measure a variant (default: %(default)s)")
    s.add_argument("--variant", action="append", metavar="LABEL=SPEC",
                   help="also serve the app pages from another gunicorn app spec, side by side, to try a "
                        "change out (repeatable), e.g. cached='mymod:make(\"cache\")'")
    s.add_argument("--write-docs", action="store_true", help="write the results into docs/benchmarks.md")
    return p


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    sys.stdout.reconfigure(line_buffering=True)  # progress shows up when piped to a file
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # unwind: stop the gunicorns we started
    args = parser().parse_args(argv)
    if args.benchmark == "storefront":
        from .run_storefront import run

        if "127.0.0.1" not in args.database_url and "localhost" not in args.database_url:
            print("note: the database is not on this machine; the benchmark is meant for a local one")
        return run(args, "python -m bench " + shlex.join(argv))
    return 2


if __name__ == "__main__":
    sys.exit(main())
