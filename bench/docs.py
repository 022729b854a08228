"""docs/benchmarks.md is shared by every benchmark: each one owns a section between
`<!-- bench:NAME -->` and `<!-- /bench:NAME -->` and rewrites only that section, so
analysis written by hand outside the markers (and other benchmarks' figures) survive a re-run.
"""
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS = os.path.join(ROOT, "docs", "benchmarks.md")


def _markers(name):
    return f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"


def write_section(name, markdown, path=DOCS):
    """Replace (or append) the section `name` of docs/benchmarks.md with `markdown`."""
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
