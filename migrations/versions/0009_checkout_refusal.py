"""orders: refuse_checkout(reason), which makes a refused checkout statement fail (PostgreSQL)

Revision ID: 0009_checkout_refusal
Revises: 0008_sqlite_search_index
Create Date: 2026-11-29 21:00:00

A one-line checkout on PostgreSQL is one `WITH … INSERT` statement (orders/placing_pg.py)
whose guards (the per-buyer limit, the stock) may refuse. The statement now calls
refuse_checkout() with the refusal, which raises: the statement fails as a whole and
writes nothing. That lets the API send the statement and its COMMIT in one round trip
(a pipeline), so the product's row lock ends when the commit is on disk, not when
the Python thread next gets the GIL to send the COMMIT. SQLite keeps separate
statements in a transaction it rolls back: nothing to do.
"""
from alembic import op

# revision identifiers, used by Alembic.
revision = "0009_checkout_refusal"
down_revision = "0008_sqlite_search_index"
branch_labels = None
depends_on = None

REFUSE_CHECKOUT = """
CREATE OR REPLACE FUNCTION refuse_checkout(reason text) RETURNS boolean
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  IF reason IS NOT NULL THEN
    RAISE EXCEPTION USING ERRCODE = 'P0001', MESSAGE = reason, HINT = 'refuse_checkout';
  END IF;
  RETURN false;
END
$$
"""


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(REFUSE_CHECKOUT)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS refuse_checkout(text)")
