"""The storefront benchmark's data, on PostgreSQL or SQLite.

PostgreSQL is seeded by bench/seed.py. A SQLite run seeds its PostgreSQL *source* exactly
as a PostgreSQL run would, then copies it into the SQLite file (bench/sqlite_copy.py), so
both databases hold the same rows and their figures compare. The questions the benchmark
asks of the data (which products to request, where page 50's "Next" link points, how
many products a search finds) go through SQLAlchemy with SQL both databases understand.
"""
import hashlib
import os
import time

from sqlalchemy import create_engine, text

from . import seed, sqlite_copy

#: the storefront's own rule for what a visitor sees (marketplace/catalog): active products of verified cooperatives
VISIBLE = ("FROM products p JOIN cooperatives c ON c.id = p.cooperative_id "
           "WHERE p.status = 'active' AND c.status = 'verified'")


def prepare(args, has_data):
    """Seed (or reuse) the database of `args.database_url`; for SQLite, seed the source and copy it.
    Returns the data description the report prints."""
    url = args.database_url
    source = args.source_url if sqlite_copy.is_sqlite(url) else url
    if args.reuse_data and has_data(source, args.products, args.cooperatives):
        data = seed.describe(source)
        print(f"reusing the data already in {source}: {data}")
    else:
        print(f"seeding {source} ...")
        data = seed.seed(source, args.products, args.cooperatives)
    if not sqlite_copy.is_sqlite(url):
        return data
    started = time.monotonic()
    kept = args.reuse_data and sqlite_copy.same_data(source, url)
    copied = sqlite_copy.copy(source, url, reuse=kept)
    # the search shares and surplus are the source's (same rows); size and copy time are the file's
    return dict(data, size=_file_size(url), source=source, copied_rows=sum(copied.values()),
                copy_seconds=None if kept else time.monotonic() - started)


def _file_size(url):
    mib = os.path.getsize(sqlite_copy.sqlite_path(url)) / 1024 / 1024
    return f"{mib:.0f} MiB"


def _rows(url, sql, **params):
    engine = create_engine(sqlite_copy.engine_url(url))
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql), params).all()
    finally:
        engine.dispose()


def sample_products(url, n=200):
    """Ids of visible products spread over the table (deterministic), so the product
    target does not hammer one hot row. Ordered by md5 of the id, computed here so that
    PostgreSQL and SQLite (which has no md5) get the very same ids."""
    ids = [r[0] for r in _rows(url, "SELECT p.id " + VISIBLE)]
    return sorted(ids, key=lambda i: hashlib.md5(str(i).encode()).hexdigest())[:n]


def next_link_path(url, page=50, per_page=24):
    """/products?page=50&after=... as the "Next" link of page 49 has it (keyset pagination):
    the sort values of page 49's last row in the default order."""
    surplus, last_id = _rows(url, "SELECT CAST(p.surplus AS INTEGER), p.id " + VISIBLE +
                             " ORDER BY p.surplus DESC, p.id DESC LIMIT 1 OFFSET :skip",
                             skip=(page - 1) * per_page - 1)[0]
    return f"/products?page={page}&after={surplus}.{last_id}"
