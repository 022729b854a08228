"""docs/benchmarks.md is shared by every benchmark: each one owns a section between
`<!-- bench:NAME -->` and `<!-- /bench:NAME -->` and rewrites only that section, so
analysis written by hand outside the markers (and other benchmarks' figures) survive a re-run.
Several benchmarks may finish at the same moment, so the read-modify-write holds an exclusive
lock on a side file: without it one section's rewrite could drop another's.
"""
import fcntl
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS = os.path.join(ROOT, "docs", "benchmarks.md")


def _markers(name):
    return f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"


def write_section(name, markdown, path=DOCS):
    """Replace (or append) the section `name` of docs/benchmarks.md with `markdown`."""
    with open(path + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _replace_section(name, markdown, path)


def _replace_section(name, markdown, path):
    start, end = _markers(name)
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except FileNotFoundError:
        text = "# Benchmarks\n"
    block = f"{start}\n{markdown.strip()}\n{end}"
    if start in text and end in text:
        before, rest = text.split(start, 1)
        text = before + block + rest.split(end, 1)[1]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)
    return path
