"""The process-model benchmark's data: the app's own demo data (marketplace.demo.seed), on
PostgreSQL or in a SQLite file.

On PostgreSQL the database is rebuilt (bench/seed.py) and seeded by the demo seeder. On
SQLite the PostgreSQL *source* is seeded the same way and copied into the SQLite file
(bench/sqlite_copy.py), as every benchmark's SQLite run does, so both databases hold the
same rows. Reads go through SQLAlchemy, the same code for both.
"""
import tempfile

from sqlalchemy import create_engine, text

from . import seed, sqlite_copy

#: the tables whose row counts the report gives (the demo data set's size)
COUNTED = ("cooperatives", "households", "products", "users", "shows", "orders", "order_lines")


def prepare(url, source_url, reuse) -> tuple[int, list[str]]:
    """The live show's id and the page paths to load, with the demo data at `url`."""
    if sqlite_copy.is_sqlite(url):
        reseeded = _ensure_demo(source_url, reuse)
        sqlite_copy.copy(source_url, url, reuse=reuse and not reseeded)
    else:
        _ensure_demo(url, reuse)
    return targets(url)


def targets(url) -> tuple[int, list[str]]:
    """The first live show's id, and the catalog, home and every active product's page."""
    engine = create_engine(sqlite_copy.engine_url(url))
    try:
        with engine.connect() as conn:
            show_id = _live_show(conn)
            ids = conn.scalars(text("SELECT id FROM products WHERE status = 'active' ORDER BY id")).all()
    finally:
        engine.dispose()
    if show_id is None:
        raise RuntimeError(f"no live show in {url}")
    return show_id, ["/products", "/"] + [f"/products/{i}" for i in ids]


def counts(url) -> dict:
    """{table: rows} of the tables the report names."""
    every = sqlite_copy.counts(url)
    return {name: every[name] for name in COUNTED if name in every}


def _ensure_demo(url, reuse) -> bool:
    """Rebuild the PostgreSQL database at `url` with the demo data, unless `reuse` and the
    demo's live show is there. Returns whether it seeded."""
    if reuse and _has_live_show(url):
        return False
    print(f"building {url} with the demo data ...")
    seed.ensure_database(url)
    seed.build_schema(url)
    _seed_demo(url)
    return True


def _seed_demo(url):
    from marketplace import create_app
    from marketplace.demo.seed import seed as demo_seed
    from marketplace.extensions import db

    app = create_app("test", SQLALCHEMY_DATABASE_URI=url, UPLOAD_FOLDER=tempfile.mkdtemp(prefix="bench-pm-"))
    with app.app_context():
        demo_seed()
        db.session.commit()
        db.engine.dispose()


def _has_live_show(url) -> bool:
    engine = create_engine(sqlite_copy.engine_url(url), connect_args={"connect_timeout": 5})
    try:
        with engine.connect() as conn:
            return _live_show(conn) is not None
    except Exception:  # noqa: BLE001 - no database or no schema yet: seed it
        return False
    finally:
        engine.dispose()


def _live_show(conn):
    return conn.scalar(text("SELECT id FROM shows WHERE status = 'live' ORDER BY id LIMIT 1"))
