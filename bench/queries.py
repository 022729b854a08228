"""What SQL each measured page runs, and what PostgreSQL spends on it.

Renders every target in-process (production config, same database, page cache
off), with a cursor hook recording each statement: once as a first view (the
catalog memo emptied, so totals are counted) and once more within the minute the
memo keeps them. That gives the number of queries per page (which must not grow
with the page number or the result size) and, with `explain=True`, EXPLAIN
(ANALYZE, BUFFERS, TIMING OFF) of each first-view statement with its real
parameters: the server-side execution time (per-node timing is off, as it
inflates plans that touch 100,000 rows) and the plan that explains it.
"""
import re
import tempfile

from sqlalchemy import event


def _short(sql):
    sql = " ".join(sql.split())
    head = re.sub(r"^SELECT .*? FROM", "SELECT … FROM", sql)
    return head[:150] + ("…" if len(head) > 150 else "")


def profile(url, targets, explain=True, repeat=10):
    """For each (name, path) in `targets` returns {queries, statements[, plans]}.

    Each statement is EXPLAIN ANALYZEd `repeat` times and the best execution
    time is kept (the first run may read from disk; the benchmark runs warm)."""
    from marketplace import create_app
    from marketplace.extensions import db
    from marketplace.catalog.memo import catalog_memo

    app = create_app("production", SECRET_KEY="bench", SQLALCHEMY_DATABASE_URI=url, PAGE_CACHE_SECONDS=0, LOG_LEVEL="WARNING",
                     UPLOAD_FOLDER=tempfile.mkdtemp(prefix="bench-up-"))
    results = {}
    with app.app_context():
        engine = db.engine
        seen = []

        def record(conn, cursor, statement, parameters, context, executemany):
            seen.append((statement, parameters))

        event.listen(engine, "before_cursor_execute", record)
        client = app.test_client()
        captured = {}
        for name, path in targets:
            client.get(path)  # first render fills caches (templates, compiled SQL)
            catalog_memo().clear()  # a first view: totals are counted (made by the first page that asks)
            captured[name] = _render(client, path, seen)
            again = _render(client, path, seen)  # within the minute the memo keeps them
            results[name] = {"path": path, "queries": len(captured[name]), "queries_again": len(again),
                             "statements": [_short(s) for s, _ in captured[name]],
                             "labels": [_label(s) for s, _ in captured[name]]}
        event.remove(engine, "before_cursor_execute", record)
        if explain:
            with engine.connect() as conn:
                for name, _ in targets:
                    plans = [_explain(conn, s, p, repeat) for s, p in captured[name]]
                    results[name]["plans"] = plans
                    results[name]["sql_ms"] = sum(p["ms"] for p in plans)
        db.engine.dispose()
    return results


def _render(client, path, seen):
    seen.clear()
    resp = client.get(path)
    if resp.status_code != 200:
        raise RuntimeError(f"{path} answered {resp.status_code}")
    return [(s, p) for s, p in seen if not s.lstrip().upper().startswith("SELECT 1")]


def _label(sql):
    """A word for a statement: 'count', 'hit ids + total' (a search's window query), or the
    first table it reads ('products', ...)."""
    if re.match(r"\s*SELECT count\(\*\)", sql):
        return "count"
    if "OVER ()" in sql:
        return "hit ids + total"
    found = re.search(r"\bFROM\s+(\w+)", sql)
    return found.group(1) if found else "?"


def _explain(conn, statement, params, repeat):
    best = None
    for _ in range(repeat):
        rows = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS, TIMING OFF) " + statement, params).all()
        plan = "\n".join(r[0] for r in rows)
        ms = float(re.search(r"Execution Time: ([\d.]+) ms", plan).group(1))
        if best is None or ms < best["ms"]:
            best = {"sql": _short(statement), "ms": ms, "plan": plan, "label": _label(statement)}
    return best


def check_fixed(results, groups):
    """Queries per page must be the same within each group (e.g. every catalog
    page: first, deep; every search), on a first view and again. Returns a list of
    complaints, empty when fine."""
    problems = []
    for group in groups:
        for key in ("queries", "queries_again"):
            counts = {name: results[name][key] for name in group if name in results}
            if len(set(counts.values())) > 1:
                problems.append(f"query count ({key}) differs between {counts}")
    return problems
