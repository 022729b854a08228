"""products: on PostgreSQL, a cooperative's goods on sale in the order they are shown

The product page's "more from this cooperative" lists a cooperative's active goods
surplus first, newest first, four of them. With only (cooperative_id, status)
PostgreSQL read and sorted all of a cooperative's active goods to show four; this
partial index (active goods only) holds them in that order, so it reads the four. The
query names the condition literally (catalog.product_page), so even a cached generic
plan uses it.

PostgreSQL only, like the search indexes (not in the models: extensions.PG_ONLY_INDEXES).
On SQLite such an index, partial or not, turned the catalog's deep pages (status = ?,
a keyset on surplus and id) into a scan of every cooperative and a sort: SQLite's
planner weighs the LIMIT less than PostgreSQL's does. A SQLite store is the demo's,
whose cooperatives hold a few goods each.

Revision ID: 0011_products_coop_on_sale
Revises: 0010_ledger_no_truncate
Create Date: 2026-11-30 08:30:00

"""
from alembic import op


revision = '0011_products_coop_on_sale'
down_revision = '0010_ledger_no_truncate'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE INDEX ix_products_coop_on_sale ON products (cooperative_id, surplus, id) "
                   "WHERE status = 'active'")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_products_coop_on_sale")
