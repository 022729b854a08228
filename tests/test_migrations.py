"""Migrations: a single head, and the models match what the migrations build."""
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import current_app

from marketplace.extensions import db, include_in_migrations


def test_one_head(app):
    config = current_app.extensions["migrate"].migrate.get_config()
    heads = ScriptDirectory.from_config(config).get_heads()
    assert len(heads) == 1, heads


def test_models_match_migrations(app):
    # The test database was built by running the migrations (see conftest._schema).
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True,
                                                         "include_object": include_in_migrations})
        diff = compare_metadata(context, db.metadata)
    assert diff == [], diff


def test_every_migration_can_be_downgraded(app):
    config = current_app.extensions["migrate"].migrate.get_config()
    for revision in ScriptDirectory.from_config(config).walk_revisions():
        assert "def downgrade" in Path(revision.path).read_text()
