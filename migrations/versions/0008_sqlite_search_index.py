"""catalog: full-text indexes SQLite's catalog search can use (SQLite only)

Revision ID: 0008_sqlite_search_index
Revises: 0007_catalog_speed
Create Date: 2026-11-29 20:40:00

SQLite has no index for LIKE '%木耳%', so every search read all products (90-300 ms
at 100,000). Two FTS5 tables narrow the candidates; catalog.search keeps the LIKE as
the exact filter, so results stay what they were:

- product_trigrams: the trigrams of products.search_text (external content: the
  text stays in products). Serves terms of three or more characters, any script.
- product_cjk: per product, its CJK unigrams and bigrams (the grams cjk_grams of
  migration 0007 makes on PostgreSQL), space-separated; the `ascii` tokenizer takes
  every non-ASCII character as part of a token, so each gram is one token whatever
  SQLite's Unicode tables say of it. Serves Chinese terms of one or two characters
  (contentless: its rowid is products.id).

detail=none: the indexes only say which products hold a gram, which is all the
search asks (all grams of a term present, then LIKE); positions would double them.

Triggers keep both current for every write (ORM, CSV import, bulk SQL). The grams
are computed in SQL (json_each over a counted series stands for a loop: triggers
allow no WITH), and the backfill is one INSERT … SELECT, so upgrading a large
database takes seconds. A later batch migration that recreates `products` drops
these triggers with the old table: it must create them again (tests check they work).
PostgreSQL has its own indexes (0001, 0007): nothing to do there.
"""
from alembic import op

# revision identifiers, used by Alembic.
revision = "0008_sqlite_search_index"
down_revision = "0007_catalog_speed"
branch_labels = None
depends_on = None

#: the CJK unigrams and bigrams of the text {t}, space-separated
#: (NULL: none), e.g. "黑 黑木 木 木耳 耳". Read as UTF-8 bytes, where a character of
#: U+3400..U+9FFF (the range of cjk_grams on PostgreSQL) is the 3 bytes E3 90 80..E9 BF BF
#: and substr is a plain slice, not a walk from the start as on text (5x faster);
#: json_each over "[0,0,…]" counts the byte positions, as triggers allow no WITH.
#: A gram repeated in a text is listed again: the index keeps one entry per product anyway.
_BYTES = "CAST({t} AS BLOB)"
_IS_CJK = "BETWEEN x'E39080' AND x'E9BFBF'"
GRAMS = f"""(SELECT CAST(group_concat(gram, ' ') AS TEXT) FROM (
  SELECT substr({_BYTES}, pos.key + 1, 3)
         || CASE WHEN substr({_BYTES}, pos.key + 4, 3) {_IS_CJK}
                 THEN x'20' || substr({_BYTES}, pos.key + 1, 6) ELSE x'' END AS gram
  FROM json_each('[' || rtrim(replace(hex(zeroblob(length({_BYTES}))), '00', '0,'), ',') || ']') AS pos
  WHERE substr({_BYTES}, pos.key + 1, 3) {_IS_CJK}))"""


def _add(row):
    return (f"INSERT INTO product_trigrams(rowid, search_text) VALUES ({row}.id, {row}.search_text);\n"
            f"  INSERT INTO product_cjk(rowid, grams) VALUES ({row}.id, {GRAMS.format(t=row + '.search_text')});")


def _remove(row):  # FTS5 removes a row by being told the values it indexed
    return (f"INSERT INTO product_trigrams(product_trigrams, rowid, search_text) "
            f"VALUES ('delete', {row}.id, {row}.search_text);\n"
            f"  INSERT INTO product_cjk(product_cjk, rowid, grams) "
            f"VALUES ('delete', {row}.id, {GRAMS.format(t=row + '.search_text')});")


TABLES = [
    "CREATE VIRTUAL TABLE product_trigrams USING fts5(search_text, content='products', content_rowid='id', "
    "tokenize='trigram', detail='none', columnsize=0)",
    "CREATE VIRTUAL TABLE product_cjk USING fts5(grams, content='', tokenize='ascii', detail='none', columnsize=0)",
]
BACKFILL = [
    "INSERT INTO product_trigrams(product_trigrams) VALUES ('rebuild')",
    f"INSERT INTO product_cjk(rowid, grams) SELECT id, {GRAMS.format(t='search_text')} FROM products",
]
TRIGGERS = {
    "products_search_index_insert": f"AFTER INSERT ON products BEGIN\n  {_add('new')}\nEND",
    "products_search_index_delete": f"AFTER DELETE ON products BEGIN\n  {_remove('old')}\nEND",
    "products_search_index_update": (
        "AFTER UPDATE OF id, search_text ON products "
        f"WHEN old.id IS NOT new.id OR old.search_text IS NOT new.search_text BEGIN\n"
        f"  {_remove('old')}\n  {_add('new')}\nEND"),
}


def upgrade():
    if op.get_bind().dialect.name != "sqlite":
        return
    for sql in TABLES + BACKFILL:
        op.execute(sql)
    for name, body in TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {body}")


def downgrade():
    if op.get_bind().dialect.name != "sqlite":
        return
    for name in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.execute("DROP TABLE IF EXISTS product_cjk")
    op.execute("DROP TABLE IF EXISTS product_trigrams")
