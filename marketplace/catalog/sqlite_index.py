"""Which products may contain a search term, from SQLite's full-text indexes (migration 0008).

SQLite has no index for LIKE '%木耳%'. Two FTS5 tables, kept current by triggers,
list per product the trigrams of search_text (product_trigrams) and its CJK unigrams
and bigrams (product_cjk). A product that contains a term holds every trigram of it
(terms of three or more characters, any script) and, for a Chinese term of one or two
characters, that gram itself; so "holds them all" narrows the candidates to a
superset of the hits, read from the index instead of from every product. The LIKE
stays the exact filter (catalog.search), so results are the same as without the index.

A term of one or two characters with no Chinese in it ("5", "ml") has no gram to look
up: such terms are filtered by the LIKE alone, which reads every product, as before.
"""
import re

from sqlalchemy import column, literal_column, select, table

#: the Han ranges cjk_grams covers on PostgreSQL, as migration 0008 indexes them
CJK_RUN = re.compile(r"[\u3400-\u9fff]+")

_TRIGRAMS = table("product_trigrams", column("rowid"))
_CJK = table("product_cjk", column("rowid"))


def _quoted(gram: str) -> str:
    """An FTS5 string: one token of the table's tokenizer, no query syntax."""
    return '"' + gram.replace('"', '""') + '"'


def trigrams(term: str) -> list[str]:
    """The distinct trigrams of a term of three or more characters, in order."""
    return list(dict.fromkeys(term[i:i + 3] for i in range(len(term) - 2)))


def cjk_grams(term: str) -> list[str]:
    """The CJK grams the hits of a term of one or two characters must hold: its Chinese
    part, which is a unigram or a bigram: "木耳" -> 木耳, "5斤" -> 斤, "ml" -> none."""
    return CJK_RUN.findall(term)


def candidates(product_id, terms):
    """WHERE clauses on `product_id` (products.id) that every product containing all
    `terms` meets (terms as the search splits them; lower-cased here, as search_text is)."""
    long_grams, short_grams = [], []
    for term in (t.lower() for t in terms):
        if len(term) >= 3:
            long_grams += trigrams(term)
        else:
            short_grams += cjk_grams(term)
    clauses = []
    for fts, grams in ((_TRIGRAMS, long_grams), (_CJK, short_grams)):
        if grams:  # one MATCH per table: FTS5 intersects the grams' lists of products itself
            match = " AND ".join(_quoted(g) for g in dict.fromkeys(grams))
            clauses.append(product_id.in_(select(fts.c.rowid).where(literal_column(fts.name).op("MATCH")(match))))
    return clauses
