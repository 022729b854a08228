"""Experimental variants of the real app, to measure a suggestion before anyone edits the app.

They monkeypatch app internals as they are today (catalog.views.run_catalog,
the csrf_token template global), so they go stale once the suggestions in
docs/benchmarks.md are applied; delete them then. Serve one side by side with
the real app:

    python -m bench storefront --reuse-data --variant 'count=bench.experiments:make("count")'

Flags (comma-separated):
  count      cache each filter combination's total for 60 s (per worker process)
  nosession  csrf_token() renders "" : anonymous GETs create no session and send no Set-Cookie
             (what a language switcher without a CSRF token would give; NOT safe for forms)
  grams      also require cjk_grams(search_text) @> ARRAY[term] for search terms of 1-2 CJK
             characters, so the GIN index made by `python -m bench.experiments grams-index` serves them
"""
import re
import sys
import time

GRAMS_SQL = r"""
CREATE OR REPLACE FUNCTION cjk_grams(t text) RETURNS text[] LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT coalesce(array_agg(DISTINCT g), '{}') FROM (
    SELECT substr(t, i, 2) AS g FROM generate_series(1, length(t) - 1) AS i
    UNION ALL
    SELECT substr(t, i, 1) FROM generate_series(1, length(t)) AS i
  ) s WHERE g ~ '^[\u3400-\u9fff]+$'
$$;
CREATE INDEX IF NOT EXISTS ix_products_search_cjk ON products USING gin (cjk_grams(search_text));
ANALYZE products;
"""
CJK_TERM = re.compile(r"^[\u3400-\u9fff]{1,2}$")


def make(flags=""):
    from sqlalchemy import Text, cast, func, select
    from sqlalchemy.dialects.postgresql import array

    from marketplace import create_app
    from marketplace.catalog import search, views
    from marketplace.catalog.models import Product

    chosen = set(filter(None, flags.split(",")))
    totals = {}

    def run_catalog(session, cq):
        stmt = search.catalog_select(cq)
        if "grams" in chosen:
            for term in cq.q.split():
                if CJK_TERM.match(term):
                    stmt = stmt.where(func.cjk_grams(Product.search_text).op("@>")(array([cast(term, Text)])))
        key = (cq.q, cq.category, cq.province, cq.cooperative_id, cq.surplus, cq.min_price_fen, cq.max_price_fen)
        hit = totals.get(key) if "count" in chosen else None
        if hit and hit[1] > time.monotonic():
            total = hit[0]
        else:
            total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
            totals[key] = (total, time.monotonic() + 60)
        return session.scalars(stmt.limit(cq.per_page).offset((cq.page - 1) * cq.per_page)).all(), total

    views.run_catalog = run_catalog
    app = create_app()
    if "nosession" in chosen:
        app.jinja_env.globals["csrf_token"] = lambda: ""
        app.context_processor(lambda: {"csrf_token": lambda: ""})
    return app


def main(argv):
    """`python -m bench.experiments grams-index [DATABASE_URL]`: add the CJK n-gram index."""
    import psycopg

    from .__main__ import DEFAULT_URL
    from .seed import libpq_url

    if not argv or argv[0] != "grams-index":
        print(__doc__)
        return 2
    with psycopg.connect(libpq_url(argv[1] if len(argv) > 1 else DEFAULT_URL), autocommit=True) as conn:
        conn.execute("SET maintenance_work_mem = '256MB'")
        start = time.perf_counter()
        conn.execute(GRAMS_SQL)
        size = conn.execute("SELECT pg_size_pretty(pg_relation_size('ix_products_search_cjk'))").fetchone()[0]
    print(f"ix_products_search_cjk: {size}, built in {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
