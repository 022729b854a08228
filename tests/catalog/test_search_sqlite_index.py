"""SQLite's search indexes (migration 0008): the same hits as a plain LIKE, found without a scan.

The indexes only narrow which products the LIKE reads, so every search must find
exactly the products whose lower-cased title, origin or description contain every
term, after inserts, edits, bulk SQL and deletes alike. On PostgreSQL the same tests
run against its own indexes, and the migration must leave PostgreSQL alone.
"""
import importlib.util
import sqlite3
from pathlib import Path

import pytest
from alembic.migration import MigrationContext
from alembic.operations import Operations
from flask_migrate import downgrade, upgrade
from sqlalchemy import event, inspect, select, text

from marketplace import create_app
from marketplace.catalog.memo import catalog_memo
from marketplace.catalog.models import Product, ProductStatus
from marketplace.catalog.search import CatalogQuery, _ranked_hits, run_catalog
from marketplace.catalog.services import update_product
from marketplace.coops.models import CoopStatus, Cooperative
from marketplace.extensions import db
from tests.conftest import owner_of

MIGRATION = Path(__file__).parents[2] / "migrations" / "versions" / "0008_sqlite_search_index.py"

#: (title, origin, description): Chinese runs of 1 to 5+ characters, Latin words, mixed
#: units, words only in the origin or description, FTS5 syntax, a character at the very end
ROWS = [
    ("秦岭黑木耳 Black wood-ear", "陕西柞水", "椴木种植，肉厚无根"),
    ("Wood-ear from the hills", "Shaanxi", "产地：秦岭木耳基地"),
    ("木 耳 apart", "", "the two characters, but not side by side"),
    ("黑木耳干货 500g装", "东北", "Dried, 5斤装 for families"),
    ("大同黄花菜 Datong Day Lily", "山西大同", "Lily buds, sun-dried"),
    ("Lilyflower tea", "Yunnan", "jasmine and LILY"),
    ("祁门红茶 Keemun black tea", "安徽", "ml of water: 250 ml"),
    ("土蜂蜜 Honey", "延边 Yanbian", "Bees feed on lily and wood-ear flowers"),
    ("Plain rice", "Heilongjiang", "its last word is 耳"),
    ("卦象䷀ hexagram tea", "", 'says "NOT" and (a*b) or a"b'),
    ("〇号 zero-grade", "Guangxi", "İstanbul style Ärger"),
]
QUERIES = ["木耳", "木", "耳", "黑木耳", "黑木耳干", "秦岭黑木耳", "黑木耳干货", "lily", "LILY", "li", "l",
           "ml", "5", "5斤", "斤装", "g装", "500g装", "day lily", "木耳 lily", "木耳 ml", "延边", "yanbian",
           "䷀", "茶木", 'a"b', "NOT", "(a*b)", "%", "_", "wood-ear", "〇", "〇号", "İst", "ärg", "耳 Plain"]


@pytest.fixture
def catalogue(make):
    coop = make.coop()
    products = [make.product(coop, title=t, origin=o, description=d) for t, o, d in ROWS]
    make.product(coop, title="木耳草稿 draft lily", status="draft")
    make.product(coop, title="木耳旧货 archived lily", status="archived")
    make.product(make.coop(status="suspended"), title="停售木耳 suspended lily")
    return products


def hits(q, dialect="auto"):
    """Ids of every product the catalog finds for `q`, in its order, and the total it shows."""
    found, page = [], 1
    catalog_memo().clear()  # the index is under test here, not the minute the hits are kept
    while True:
        cq = CatalogQuery(q=" ".join(q.split()), per_page=100, page=page)
        if dialect == "auto":
            products, total = run_catalog(db.session, cq)
        else:  # the plain LIKE: what search did before the index, on either database
            ids, total = _ranked_hits(db.session, cq, None, 100, (page - 1) * 100)
            products = [db.session.get(Product, i) for i in ids]
        found += [p.id for p in products]
        if len(products) < 100:
            return found, total
        page += 1


def contained(q):
    """What "substring of search_text" means, computed in Python over the visible products."""
    terms = [t.lower() for t in q.split()]
    visible = db.session.scalars(select(Product).join(Product.cooperative).where(
        Product.status == ProductStatus.active, Cooperative.status == CoopStatus.verified)).all()
    return {p.id for p in visible if all(t in p.search_text for t in terms)}


def _owner(product):
    return owner_of(db.session.get(Cooperative, product.cooperative_id))


def assert_same_as_like(queries=QUERIES):
    for q in queries:
        found, total = hits(q)
        assert set(found) == contained(q), q
        assert (found, total) == hits(q, dialect=None), q  # same order and count as the LIKE alone
        assert len(found) == total, q


def test_every_kind_of_term_finds_what_like_finds(app, catalogue):
    assert_same_as_like()
    assert len(hits("木耳")[0]) == 3 and len(hits("lily")[0]) == 3  # the data set does exercise the search


def test_edits_bulk_updates_and_deletes_are_found_at_once(app, make, catalogue):
    muer, hills, gone = catalogue[0], catalogue[1], catalogue[4].id
    update_product(_owner(muer), muer, {"title": "秦岭香菇 Shiitake", "description": "花菇"})
    db.session.commit()
    assert muer.id not in hits("木耳")[0] and muer.id in hits("香菇")[0] and muer.id in hits("shiitake")[0]
    # bulk SQL, as an import or a fix-up script would write, bypassing the ORM
    db.session.execute(text("UPDATE products SET search_text = 'day-lily 银耳' WHERE id = :id"), {"id": hills.id})
    db.session.execute(text("DELETE FROM products WHERE id = :id"), {"id": gone})
    db.session.commit()
    assert hits("银耳")[0] == [hills.id]
    assert gone not in hits("lily")[0] and hills.id in hits("lily")[0]
    newcomer = make.product(title="新货黑木耳 fresh lily")
    assert newcomer.id in hits("木耳")[0] and newcomer.id in hits("黑木耳 lily")[0]
    assert_same_as_like()
    if db.engine.dialect.name == "sqlite":  # FTS5 checks its trigram index against products itself
        db.session.execute(text("INSERT INTO product_trigrams(product_trigrams) VALUES ('integrity-check')"))


def test_archiving_hides_a_product_from_search(app, catalogue):
    lily = catalogue[4]
    update_product(_owner(lily), lily, {"status": "archived"})
    db.session.commit()
    assert lily.id not in hits("lily")[0]
    assert_same_as_like(["lily", "大同", "day lily"])


#: sqlite_stat1 of the benchmark's catalogue (100,000 products of 2,000 cooperatives, after
#: ANALYZE, as bench/sqlite_copy.py leaves it): SQLite plans by these figures at scale
SCALE_STATS = [
    ("products", "ix_products_listing", "100000 100000 50000 1"),
    ("products", "ix_products_coop_status", "100000 51 51"),
    ("products", "ix_products_category", "100000 8334"),
    ("cooperatives", "ix_cooperatives_status", "2000 2000"),
]


def _plan_at_scale(q):
    """SQLite's plan, with the statistics of 100,000 products, for the query that ranks
    the hits of `q` as the catalog sends it. (Without statistics SQLite guesses ten rows
    per indexed value and plans most queries here badly, searches or not.)"""
    sent = []

    def keep(conn, cursor, statement, parameters, context, executemany):
        if "MATCH" in statement and "count(*) OVER" in statement:
            sent.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", keep)
    try:
        run_catalog(db.session, CatalogQuery(q=q))
    finally:
        event.remove(db.engine, "before_cursor_execute", keep)
    assert sent, "the search sent no query to the full-text index"
    statement, parameters = sent[0]
    conn = db.session.connection()
    try:
        conn.exec_driver_sql("ANALYZE sqlite_schema")  # makes sqlite_stat1 if missing
        conn.exec_driver_sql("DELETE FROM sqlite_stat1")
        for row in SCALE_STATS:
            conn.exec_driver_sql("INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES (?, ?, ?)", row)
        conn.exec_driver_sql("ANALYZE sqlite_schema")  # the planner reads them now
        return [row[3] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)]
    finally:
        db.session.rollback()
        db.session.connection().exec_driver_sql("ANALYZE sqlite_schema")  # and forgets them


def test_sqlite_reads_the_index_not_every_product(app, catalogue):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL has its own indexes (tests/catalog/test_search.py)")
    for q, index in (("木耳", "product_cjk"), ("茶", "product_cjk"), ("黑木耳", "product_trigrams"),
                     ("lily", "product_trigrams")):
        plan = _plan_at_scale(q)
        assert any(step.startswith(f"SCAN {index} VIRTUAL TABLE") for step in plan), (q, plan)
        assert "SEARCH products USING INTEGER PRIMARY KEY (rowid=?)" in plan, (q, plan)
        assert not any(step.startswith(("SCAN products", "SEARCH products USING INDEX")) for step in plan), (q, plan)


# --- the migration ---------------------------------------------------------------

def _product_sql(i, title, origin, description):
    search_text = " ".join([title, origin, description]).lower()
    return ("INSERT INTO products (id, cooperative_id, title, description, category, origin, unit, price_fen, "
            "currency, stock, status, surplus, search_text, created_at, updated_at) VALUES "
            "(?, 1, ?, ?, 'fungi', ?, 'bag', 100, 'CNY', 1, 'active', 0, ?, '2026-11-01', '2026-11-01')",
            (i, title, description, origin, search_text))


def _matches(path, table, query):
    with sqlite3.connect(path) as conn:
        return sorted(r[0] for r in conn.execute(f"SELECT rowid FROM {table} WHERE {table} MATCH ?", (query,)))


def test_migration_indexes_existing_products_and_downgrades(tmp_path, _schema):
    if not _schema.startswith("sqlite"):
        pytest.skip("the SQLite migration is tested on SQLite")
    path = tmp_path / "existing.sqlite"
    app = create_app("test", SQLALCHEMY_DATABASE_URI=f"sqlite:///{path}", UPLOAD_FOLDER=str(tmp_path / "up"))
    with app.app_context():
        upgrade(revision="0007_catalog_speed")
        with sqlite3.connect(path) as conn:  # products written before the index existed
            for i, row in enumerate(ROWS, start=1):
                conn.execute(*_product_sql(i, *row))
        upgrade(revision="0008_sqlite_search_index")
        assert _matches(path, "product_cjk", '"木耳"') == [1, 2, 4]
        assert _matches(path, "product_cjk", '"䷀"') == [10]
        assert _matches(path, "product_trigrams", '"lil" AND "ily"') == [5, 6, 8]
        with sqlite3.connect(path) as conn:  # the triggers work on the migrated file
            conn.execute("UPDATE products SET search_text = 'lily 耳' WHERE id = 1")
        assert _matches(path, "product_cjk", '"木耳"') == [2, 4]
        assert _matches(path, "product_trigrams", '"lil" AND "ily"') == [1, 5, 6, 8]
        downgrade(revision="0007_catalog_speed")
        names = set(inspect(db.engine).get_table_names())
        db.engine.dispose()
    assert not {n for n in names if n.startswith(("product_trigrams", "product_cjk"))}
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'trigger' "
                            "AND name LIKE 'products_search_index_%'").fetchone() == (0,)
        conn.execute("UPDATE products SET search_text = 'x' WHERE id = 2")  # no trigger left behind


def test_migration_leaves_postgresql_alone(app):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only")
    spec = importlib.util.spec_from_file_location("search_index_migration", MIGRATION)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    with db.engine.connect() as conn:
        before = sorted(inspect(conn).get_table_names())
        with Operations.context(MigrationContext.configure(conn)):
            migration.downgrade()
            migration.upgrade()
        assert sorted(inspect(conn).get_table_names()) == before
        assert not [n for n in before if n.startswith(("product_trigrams", "product_cjk"))]
        conn.rollback()
