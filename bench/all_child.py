"""Run one benchmark exactly as `python -m bench NAME ...` does, except that its section
of docs/benchmarks.md goes into another file:

    python -m bench.all_child DOCS_PATH NAME [options]

`python -m bench all --quick` uses it so that a smoke test's small figures never replace
the figures of a real run. Every benchmark writes through bench.docs.write_section (some
pass the path of docs/benchmarks.md explicitly), so each module's reference to that
function is replaced by one that writes to DOCS_PATH whatever path it is given.
"""
import sys

from . import docs
from .__main__ import benchmarks, main


def redirect(target):
    real = docs.write_section

    def write_section(name, markdown, path=None):  # noqa: ARG001 - the path asked for is replaced
        return real(name, markdown, target)

    benchmarks()  # import every benchmark and its report module first, then swap their references
    for name, module in list(sys.modules.items()):
        if (name == "bench" or name.startswith("bench.")) and getattr(module, "write_section", None) is real:
            module.write_section = write_section


def run(argv):
    redirect(argv[0])
    return main(argv[1:])


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
