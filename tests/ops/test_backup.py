"""`flask backup` / `flask restore` on SQLite (the online backup API, while the app holds
its connections), and the pg_dump route they point to on PostgreSQL."""
import os
import sqlite3

import pytest
from flask_migrate import upgrade
from sqlalchemy import select

from marketplace.catalog.models import Product
from marketplace.extensions import db
from marketplace.ops.cli import backup_cli, restore_cli


@pytest.fixture
def sqlite_app(app_factory, app, tmp_path):
    """An app on its own SQLite file (restoring must not touch the shared test database),
    its context pushed over the shared app's so that factories and commands use it."""
    own = app_factory(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/live.db")
    with own.app_context():
        upgrade()
        assert db.engine.url.database == f"{tmp_path}/live.db"
        yield own
        db.session.remove()


def run(app, command, *args, input=None):
    return app.test_cli_runner().invoke(command, list(args), input=input)


def titles() -> set[str]:
    db.session.expire_all()
    return set(db.session.scalars(select(Product.title)))


def test_backup_while_the_app_holds_a_connection_then_restore_gives_the_data_back(sqlite_app, make, tmp_path):
    kept = make.product(title="Qinling wood-ear").title
    # the app is in the middle of a write: its connection holds SQLite's write lock
    make.product(title="Datong day lily")
    db.session.add(Product(**_copy_of(db.session.scalar(select(Product)), title="Not committed yet")))
    db.session.flush()

    result = run(sqlite_app, backup_cli, str(tmp_path / "nightly.db"))
    assert result.exit_code == 0, result.output
    assert f"to {tmp_path / 'nightly.db'}" in result.output and "schema revision" in result.output
    db.session.rollback()

    make.product(title="Added after the backup")
    assert titles() == {kept, "Datong day lily", "Added after the backup"}
    result = run(sqlite_app, restore_cli, "--yes", str(tmp_path / "nightly.db"))
    assert result.exit_code == 0, result.output
    assert titles() == {kept, "Datong day lily"}  # committed before the backup: yes; uncommitted or later: no
    saved = next(p for p in os.listdir(tmp_path) if p.startswith("live.db.before-restore-"))
    assert "Added after the backup" in _titles_in(tmp_path / saved)  # the replaced data is kept aside


def _copy_of(product, **changes) -> dict:
    columns = {c.key: getattr(product, c.key) for c in Product.__table__.columns if c.key != "id"}
    return {**columns, **changes}


def _titles_in(path) -> set[str]:
    with sqlite3.connect(path) as conn:
        return {row[0] for row in conn.execute("SELECT title FROM products")}


def test_a_backup_is_one_intact_file(sqlite_app, make, tmp_path):
    make.product(title="Helan Mountain wine")
    assert run(sqlite_app, backup_cli, str(tmp_path / "b.db")).exit_code == 0
    assert not (tmp_path / "b.db-wal").exists() and not (tmp_path / "b.db.partial").exists()
    with sqlite3.connect(tmp_path / "b.db") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    assert "Helan Mountain wine" in _titles_in(tmp_path / "b.db")


def test_backup_into_a_directory_names_the_file_and_never_overwrites(sqlite_app, tmp_path):
    folder = tmp_path / "backups"
    folder.mkdir()
    assert run(sqlite_app, backup_cli, str(folder)).exit_code == 0
    [made] = os.listdir(folder)
    assert made.startswith("marketplace-") and made.endswith(".db")
    again = run(sqlite_app, backup_cli, str(folder / made))
    assert again.exit_code == 1 and "exists; choose a new file name" in again.output


def test_restore_asks_first_and_no_changes_nothing(sqlite_app, make, tmp_path):
    make.product(title="Before")
    run(sqlite_app, backup_cli, str(tmp_path / "b.db"))
    make.product(title="After")
    result = run(sqlite_app, restore_cli, str(tmp_path / "b.db"), input="n\n")
    assert result.exit_code == 1 and "Replace every row" in result.output
    assert titles() == {"Before", "After"}


@pytest.mark.parametrize("content,complaint", [
    (b"not a database at all" * 100, "is not a SQLite database"),
    (None, "holds no marketplace schema"),
])
def test_restore_refuses_what_is_not_a_marketplace_backup(sqlite_app, make, tmp_path, content, complaint):
    make.product(title="Safe")
    bad = tmp_path / "bad.db"
    if content is None:
        sqlite3.connect(bad).execute("CREATE TABLE notes (body TEXT)").connection.close()
    else:
        bad.write_bytes(content)
    result = run(sqlite_app, restore_cli, "--yes", str(bad))
    assert result.exit_code == 1 and complaint in result.output
    assert titles() == {"Safe"}


def test_restore_refuses_a_backup_from_a_newer_version(sqlite_app, make, tmp_path):
    make.product(title="Safe")
    run(sqlite_app, backup_cli, str(tmp_path / "b.db"))
    with sqlite3.connect(tmp_path / "b.db") as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999_from_the_future'")
    result = run(sqlite_app, restore_cli, "--yes", str(tmp_path / "b.db"))
    assert result.exit_code == 1 and "9999_from_the_future" in result.output and "does not know" in result.output
    assert titles() == {"Safe"}


def test_restoring_an_older_schema_says_to_upgrade(sqlite_app, tmp_path):
    run(sqlite_app, backup_cli, str(tmp_path / "b.db"))
    with sqlite3.connect(tmp_path / "b.db") as conn:
        first = _first_revision()
        conn.execute("UPDATE alembic_version SET version_num = ?", (first,))
    result = run(sqlite_app, restore_cli, "--yes", str(tmp_path / "b.db"))
    assert result.exit_code == 0 and "run `flask db upgrade` now" in result.output


def _first_revision() -> str:
    from marketplace.ops.cli import MIGRATIONS
    from marketplace.ops.sqlite_backup import known_revisions

    revisions, heads = known_revisions(MIGRATIONS)
    return sorted(revisions - heads)[0]


def test_on_postgresql_both_refuse_and_print_the_pg_dump_commands(app_factory, app, tmp_path):
    pg = app_factory(SQLALCHEMY_DATABASE_URI="postgresql+psycopg://market:s3cret@db.internal:5432/market")
    with pg.app_context():
        backup = run(pg, backup_cli, "/srv/backups/tonight.dump")
        restore = run(pg, restore_cli, "--yes", "/srv/backups/tonight.dump")
    assert backup.exit_code == 1 and restore.exit_code == 1
    for result in (backup, restore):
        assert "works on SQLite only" in result.output
        assert "pg_dump --format=custom --no-owner --no-acl --file=/srv/backups/tonight.dump " \
               "postgresql://market@db.internal:5432/market" in result.output
        assert "pg_restore --clean --if-exists" in result.output and "s3cret" not in result.output
