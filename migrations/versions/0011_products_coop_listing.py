"""products: a cooperative's listing index, in the order its goods are shown

The product page's "more from this cooperative" and the cooperative page list a
cooperative's active goods surplus first, newest first. With (cooperative_id, status)
PostgreSQL read and sorted all of a cooperative's active goods to show four; with
(cooperative_id, status, surplus, id) it reads the four it shows, in order. The wider
index serves every query the old one served (they filter on its first columns).

Revision ID: 0011_products_coop_listing
Revises: 0010_ledger_no_truncate
Create Date: 2026-11-30 08:30:00

"""
from alembic import op


revision = '0011_products_coop_listing'
down_revision = '0010_ledger_no_truncate'
branch_labels = None
depends_on = None


def upgrade():
    # (plain index operations, not a batch: on SQLite a batch may copy the table, which
    # drops its search triggers, migration 0008)
    op.create_index('ix_products_coop_listing', 'products', ['cooperative_id', 'status', 'surplus', 'id'])
    op.drop_index('ix_products_coop_status', table_name='products')


def downgrade():
    op.create_index('ix_products_coop_status', 'products', ['cooperative_id', 'status'])
    op.drop_index('ix_products_coop_listing', table_name='products')
