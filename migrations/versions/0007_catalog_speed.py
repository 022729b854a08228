"""catalog: GIN index over the CJK unigrams and bigrams of products.search_text (PostgreSQL)

Revision ID: 0007_catalog_speed
Revises: 0006_orders_paid_index
Create Date: 2026-11-29 12:00:00

pg_trgm cannot serve LIKE '%木耳%': a term of one or two characters holds no
trigram, so PostgreSQL read every product for most Chinese product words (see
docs/benchmarks.md). cjk_grams(text) lists the distinct Chinese characters and
character pairs of a text; catalog.search adds `cjk_grams(search_text) @> ARRAY[term]`
for such terms, which this index serves. PL/pgSQL, because the same function in
plain SQL (generate_series over every character) made building the index on
100,000 products take minutes instead of seconds. SQLite keeps LIKE: nothing to do.
"""
from alembic import op

# revision identifiers, used by Alembic.
revision = "0007_catalog_speed"
down_revision = "0006_orders_paid_index"
branch_labels = None
depends_on = None

CJK_GRAMS = r"""
CREATE OR REPLACE FUNCTION cjk_grams(t text) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
  run text;
  grams text[] := '{}';
BEGIN
  FOR run IN SELECT (regexp_matches(t, '[\u3400-\u9fff]+', 'g'))[1] LOOP
    FOR i IN 1..length(run) LOOP
      grams := grams || substr(run, i, 1);
      IF i < length(run) THEN
        grams := grams || substr(run, i, 2);
      END IF;
    END LOOP;
  END LOOP;
  RETURN ARRAY(SELECT DISTINCT unnest(grams));
END
$$
"""


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(CJK_GRAMS)
        op.execute("CREATE INDEX ix_products_search_cjk ON products USING gin (cjk_grams(search_text))")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_products_search_cjk")
        op.execute("DROP FUNCTION IF EXISTS cjk_grams(text)")
