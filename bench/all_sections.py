"""Reading the benchmarks' own sections of docs/benchmarks.md back: their verdict tables
(any Markdown table with a "verdict" column) and the yardstick rows a rule refers to.

Every benchmark reports differently, but all of them write a table with a "verdict"
column and a rule naming its baseline ("≥ 0.8 × bare", "rps >= 0.5 x hello"); the
summary takes the figures from there, as the detailed section states them.
"""
import re

MARKER = re.compile(r"<!-- bench:([\w-]+) -->\n(.*?)\n<!-- /bench:\1 -->", re.S)


def sections(path):
    """{section name: markdown} of a docs file (empty when there is none)."""
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except FileNotFoundError:
        return {}
    return {m.group(1): m.group(2) for m in MARKER.finditer(text)}


def written_by(name, before, after):
    """The section a benchmark run wrote: the one named like the benchmark if it changed,
    else any that changed (flash_sale writes `flash-sale`). None if the run wrote nothing."""
    changed = [s for s, text in after.items() if before.get(s) != text]
    for section in changed:  # a SQLite run writes NAME-sqlite
        if section.replace("-", "_") in (name, name + "_sqlite"):
            return section
    return changed[0] if changed else None


def anchor(markdown):
    """GitHub's anchor of the section's first heading."""
    heading = next((ln.lstrip("#").strip() for ln in markdown.splitlines() if ln.startswith("#")), "")
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


def tables(markdown):
    """Every Markdown table: (header cells, [row cells])."""
    found, current = [], None
    for line in markdown.splitlines():
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if current is None:
                current = (cells, [])
                found.append(current)
            elif not all(set(c) <= set("-: ") for c in cells):
                current[1].append(cells)
        else:
            current = None
    return found


def _column(header, *words):
    """The first column (after the first) whose heading holds a word, trying the words in order."""
    return next((i for w in words for i, h in enumerate(header) if i and w in h.lower()), None)


def verdicts(markdown):
    """[{figure, measured, target, baseline, verdict}] from every table with a verdict column."""
    out = []
    for header, rows in tables(markdown):
        v = _column(header, "verdict")
        if v is None:
            continue
        measured = _column(header, "measured", "ratio")
        target = _column(header, "rule", "target")
        baseline = next((i for i, h in enumerate(header) if i and h.lower().startswith("baseline")
                         and "÷" not in h), None)  # a figure of the yardstick, not a ratio to it
        for cells in rows:
            if len(cells) != len(header) or not cells[v].strip():
                continue
            verdict = cells[v].replace("*", "").strip()
            # "| layout | target | …": the first column names a variant, not the figure
            figure = cells[0] if header[0].lower() in ("", "target", "figure", "subject") else f"{header[0]} {cells[0]}"
            out.append({"figure": figure, "verdict": verdict,
                        "measured": cells[measured] if measured is not None else "",
                        "target": cells[target] if target is not None else "",
                        "baseline": f"{header[baseline]}: {cells[baseline]}" if baseline is not None else ""})
    return [r for r in out if r["verdict"].split()[0] in ("PASS", "FAIL")]


def baseline_for(markdown, row):
    """The yardstick figure a verdict row compares with, as the section's tables have it: the row
    named after "vs" in the figure ("accruing vs bare COPY"), else the word after "×" in the
    rule ("≥ 0.8 × bare")."""
    if row["baseline"]:
        return row["baseline"]
    wanted = _plain(row["figure"].split(" vs ", 1)[1]).removeprefix("the ").split()[:2] if " vs " in row["figure"] \
        else re.findall(r"[x×]\s*(?:the\s+)?([A-Za-z]+)", row["target"])[:1]
    if not wanted:
        return ""
    metric = "p95" if "p95" in row["target"] else "req/s" if "rps" in row["target"] else None
    for header, rows in tables(markdown):
        for cells in rows:
            is_verdict = any(c.replace("*", "") in ("PASS", "FAIL") for c in cells)
            if not is_verdict and len(cells) == len(header) and all(w in _plain(cells[0]) for w in wanted):
                return f"{cells[0]}: {_figure(header, cells, metric)}"
    return ""


def subject_figure(markdown, row):
    """The measured page's own figure when the verdict states a ratio (storefront: its req/s or p95)."""
    metric = "p95" if "p95" in row["target"] else "req/s" if "rps" in row["target"] else None
    if metric is None:
        return ""
    for header, rows in tables(markdown):
        for cells in rows:
            if cells[0] == row["figure"] and len(cells) == len(header) and _column(header, "verdict") is None:
                return _figure(header, cells, metric)
    return ""


def _plain(text):
    return text.replace("`", "").lower()


def _figure(header, cells, metric):
    col = _column(header, metric) if metric else None
    if col is not None:
        return f"{cells[col]} {header[col]}"
    numbers = [f"{c} {h}".strip() for h, c in zip(header[1:], cells[1:]) if re.match(r"^[\d,.]+", c)]
    return ", ".join(numbers) or "?"
