"""households: the ledger refuses TRUNCATE too (PostgreSQL)

Revision ID: 0010_ledger_no_truncate
Revises: 0009_checkout_refusal
Create Date: 2026-11-30 04:30:00

ledger_entries is append-only in the database (migration 0003): a row trigger refuses
UPDATE and DELETE. TRUNCATE fires no row trigger, so `TRUNCATE ledger_entries` (or a
TRUNCATE … CASCADE from a table it references) emptied the ledger without a word. A
statement trigger on TRUNCATE closes that, with a function of its own (the row
trigger's function is dropped and made again by tools that lift the row trigger).
(The hash chain would name the gap, but only once someone verifies it.) SQLite has no
TRUNCATE: nothing to do.
"""
from alembic import op

# revision identifiers, used by Alembic.
revision = "0010_ledger_no_truncate"
down_revision = "0009_checkout_refusal"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE OR REPLACE FUNCTION ledger_entries_no_truncate() RETURNS trigger AS $$ "
                   "BEGIN RAISE EXCEPTION 'ledger_entries is append-only'; END $$ LANGUAGE plpgsql")
        op.execute("CREATE TRIGGER ledger_entries_no_truncate BEFORE TRUNCATE ON ledger_entries "
                   "FOR EACH STATEMENT EXECUTE FUNCTION ledger_entries_no_truncate()")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS ledger_entries_no_truncate ON ledger_entries")
        op.execute("DROP FUNCTION IF EXISTS ledger_entries_no_truncate()")
