"""The ledger benchmark's SQLite yardsticks (bench/ledger_sqlite.py) must do the work the real
path did: their twin tables keep ledger_entries' columns, indexes, unique and foreign-key
constraints (and not its append-only triggers), and each yardstick writes exactly the rows the
app appended. SQLite only: on PostgreSQL the yardsticks are COPY and INSERT … unnest."""
import sqlite3
from contextlib import closing

import pytest

from bench import ledger_sqlite
from marketplace.extensions import db
from bench.ledger_rounds import COLUMNS
from bench.ledger_seed import BARE_TABLES
from tests.households.test_ledger import paid_order, setup  # noqa: F401 - setup is a fixture


@pytest.fixture
def twins(_schema):
    if not _schema.startswith("sqlite"):
        pytest.skip("the SQLite yardsticks need a SQLite test database")
    ledger_sqlite.make_twins(_schema)
    yield _schema
    with closing(ledger_sqlite.connect(_schema)) as conn:  # the test tables are emptied by name: drop ours
        for twin in BARE_TABLES:
            conn.execute(f"DROP TABLE {twin}")


def _shape(conn, table):
    indexes = sorted((unique, [c[2] for c in conn.execute(f"PRAGMA index_info('{name}')")])
                     for _, name, unique, *_ in conn.execute(f"PRAGMA index_list('{table}')"))
    fks = sorted((fk[2], fk[3], fk[4]) for fk in conn.execute(f"PRAGMA foreign_key_list('{table}')"))
    columns = [c[1:4] for c in conn.execute(f"PRAGMA table_info('{table}')")]
    triggers = conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?",
                            (table,)).fetchone()[0]
    return columns, indexes, fks, triggers


def test_twins_have_the_ledgers_shape_without_its_triggers(twins):
    with closing(sqlite3.connect(twins.split(":///", 1)[1])) as conn:
        columns, indexes, fks, triggers = _shape(conn, "ledger_entries")
        assert triggers == 2 and len(indexes) == 6 and len(fks) == 6
        for twin in BARE_TABLES:
            assert _shape(conn, twin) == (columns, indexes, fks, 0)


def test_each_yardstick_writes_exactly_the_rows_the_app_appended(make, setup, twins):  # noqa: F811
    coop, product, h1, h2 = setup
    for quantity in (1, 2, 3):
        paid_order(make, product, quantity)
    last = ledger_sqlite.ledger_count(twins)
    assert last == 6  # two links, three orders
    rows = ledger_sqlite.ledger_rows(twins, 1, last)
    for kind, twin in zip(("copy", "insert"), BARE_TABLES):
        seconds = ledger_sqlite.YARDSTICKS[kind](twins, rows, 1, last, 2)
        assert seconds > 0
        with closing(ledger_sqlite.connect(twins)) as conn:
            written = conn.execute(f"SELECT {', '.join(COLUMNS)} FROM {twin} ORDER BY seq").fetchall()
        assert written == rows


def test_the_twins_enforce_the_foreign_keys(twins, setup):  # noqa: F811
    row = ("1", "accrual", 999_999, 999_999, 1, None, None, None, None, None, 0, None, "2026-01-01", "0", "x")
    with pytest.raises(sqlite3.IntegrityError):
        ledger_sqlite.bare_executemany(twins, [row], 1, 1, 1)


def test_reset_leaves_an_empty_ledger_that_is_still_append_only(make, setup, twins):  # noqa: F811
    coop, product, h1, h2 = setup
    paid_order(make, product, 1)
    product_id = product.id
    db.session.remove()
    db.engine.dispose()  # as in the benchmark, the reset comes before the app connects
    assert ledger_sqlite.reset_ledger(twins) == 2
    with closing(ledger_sqlite.connect(twins)) as conn:
        assert conn.execute("SELECT (SELECT count(*) FROM ledger_entries) + (SELECT count(*) FROM ledger_head)"
                            ).fetchone()[0] == 0
    paid_order(make, db.session.get(type(product), product_id), 1)  # the app appends to the new table from seq 1 on
    with closing(ledger_sqlite.connect(twins)) as conn:
        assert [r[0] for r in conn.execute("SELECT seq FROM ledger_entries ORDER BY seq")] == [1, 2]
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute("DELETE FROM ledger_entries")
