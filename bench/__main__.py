"""`python -m bench NAME [options]`: run one benchmark (`python -m bench -h` lists them).

Each benchmark is a module `bench/run_NAME.py` with `HELP`, `add_arguments(parser)` and
`run(args, command) -> exit code`; it is found here by its file name, so adding a benchmark
touches no shared file. Each writes its own section of docs/benchmarks.md (bench/docs.py).
"""
import argparse
import importlib
import pkgutil
import shlex
import signal
import sys

import bench


def benchmarks():
    """{name: module}; a module that fails to import is left out with a note, so one
    broken benchmark does not stop the others from running."""
    found = {}
    for info in sorted(pkgutil.iter_modules(bench.__path__), key=lambda m: m.name):
        if not info.name.startswith("run_"):
            continue
        try:
            found[info.name[len("run_"):]] = importlib.import_module(f"bench.{info.name}")
        except Exception as exc:  # noqa: BLE001 - report any import failure and go on
            print(f"note: bench/{info.name}.py does not import ({exc.__class__.__name__}: {exc}); skipped",
                  file=sys.stderr)
    return found


def parser(found):
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="benchmark", required=True)
    for name, module in found.items():
        module.add_arguments(sub.add_parser(name, help=module.HELP))
    return p


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    sys.stdout.reconfigure(line_buffering=True)  # progress shows up when piped to a file
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # unwind: stop the servers we started
    found = benchmarks()
    args = parser(found).parse_args(argv)
    return found[args.benchmark].run(args, "python -m bench " + shlex.join(argv))


if __name__ == "__main__":
    sys.exit(main())
