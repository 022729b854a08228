"""The same benchmark data on SQLite: copy a seeded PostgreSQL database into a SQLite file.

Every seeder of bench/ writes PostgreSQL by COPY (minutes for the scale data set). Rather
than a second seeder per benchmark, the SQLite run of a benchmark copies the rows its
PostgreSQL run seeded, so both databases hold exactly the same data and their figures
compare. The SQLite schema is what `flask db upgrade` builds on SQLite (the app's own
migrations, triggers included); rows go table by table in foreign-key order through
SQLAlchemy Core, whose column types convert values between the dialects (time zones,
JSON, booleans). Columns that exist on PostgreSQL only (e.g. the CJK gram array behind
the search index) are not in the models and are not copied.

    from bench import sqlite_copy
    counts = sqlite_copy.copy("postgresql://…/bench", "sqlite:////tmp/bench.sqlite")
"""
import functools
import os
import tempfile
import time

from sqlalchemy import create_engine, func, inspect, select

BATCH = 20_000


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite:")


def sqlite_path(url: str) -> str:
    """sqlite:////abs/path.sqlite -> /abs/path.sqlite"""
    return url.split(":///", 1)[1]


def engine_url(url: str) -> str:
    """A PostgreSQL URL as SQLAlchemy takes it with psycopg 3 (the app's driver)."""
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def build_schema(url: str) -> None:
    """A new SQLite file (the old one and its WAL removed) with the app's migrations applied."""
    from flask_migrate import upgrade

    from marketplace import create_app
    from marketplace.extensions import db

    path = sqlite_path(url)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    app = create_app("test", SQLALCHEMY_DATABASE_URI=url, UPLOAD_FOLDER=tempfile.mkdtemp(prefix="bench-up-"))
    with app.app_context():
        upgrade()
        db.engine.dispose()


@functools.cache
def tables():
    """The app's tables in foreign-key order (parents first)."""
    from marketplace import create_app  # noqa: F401 - imports every model module
    from marketplace.extensions import db

    create_app("test", SQLALCHEMY_DATABASE_URI="sqlite://")
    return db.metadata.sorted_tables


def counts(url: str) -> dict:
    """{table: rows} of every app table in the database at `url`."""
    engine = create_engine(engine_url(url))
    try:
        with engine.connect() as conn:
            present = set(inspect(conn).get_table_names())
            return {t.name: conn.scalar(select(func.count()).select_from(t)) for t in tables() if t.name in present}
    finally:
        engine.dispose()


def same_data(source_url: str, sqlite_url: str) -> bool:
    """Does the SQLite file already hold as many rows in every table as the source?"""
    if not os.path.exists(sqlite_path(sqlite_url)):
        return False
    try:
        return counts(sqlite_url) == counts(source_url)
    except Exception:  # noqa: BLE001 - a half-built or foreign file: copy again
        return False


def copy(source_url: str, sqlite_url: str, *, reuse: bool = False, log=print) -> dict:
    """Rebuild `sqlite_url` from the app's migrations and copy every row of `source_url` into it.

    With `reuse`, a file that already holds the same counts is kept. Returns {table: rows}.
    """
    if reuse and same_data(source_url, sqlite_url):
        log(f"{sqlite_path(sqlite_url)} already holds the rows of {source_url}: kept")
        return counts(sqlite_url)
    t0 = time.monotonic()
    build_schema(sqlite_url)
    source, target = create_engine(engine_url(source_url)), create_engine(sqlite_url)
    copied = {}
    try:
        with source.connect() as src, target.connect() as dst:
            dst.exec_driver_sql("PRAGMA journal_mode=WAL")
            dst.exec_driver_sql("PRAGMA synchronous=OFF")  # a crash mid-copy means copying again anyway
            dst.exec_driver_sql("PRAGMA foreign_keys=OFF")
            for table in tables():
                copied[table.name] = _copy_table(src, dst, table)
            dst.exec_driver_sql("ANALYZE")
            dst.commit()
            dst.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        source.dispose()
        target.dispose()
    rows = sum(copied.values())
    log(f"copied {rows:,} rows in {len(copied)} tables from {source_url} to {sqlite_path(sqlite_url)} "
        f"in {time.monotonic() - t0:.0f} s")
    return copied


def _copy_table(src, dst, table) -> int:
    """Stream one table's rows (server-side cursor) and insert them in batches, one transaction each."""
    result = src.execution_options(stream_results=True, yield_per=BATCH).execute(select(table))
    total = 0
    for batch in result.mappings().partitions(BATCH):
        dst.execute(table.insert(), [dict(row) for row in batch])
        dst.commit()
        total += len(batch)
    return total
