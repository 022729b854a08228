"""Catalog search and filters, the same for the HTML catalog and the API.

`q` matches anywhere inside the lower-cased title, origin and description
(木耳 finds 黑木耳, "lily" finds "Day lily") with LIKE, which behaves the same on
SQLite and PostgreSQL. On PostgreSQL a pg_trgm GIN index serves these LIKEs for
terms of three or more characters, and a GIN index over the CJK unigrams and
bigrams of search_text (`cjk_grams`, migration 0007) those of one or two Chinese
characters, which are most Chinese product words. On SQLite two FTS5 indexes
(trigrams; CJK unigrams and bigrams: migration 0008, catalog.sqlite_index) narrow
the products the LIKE reads to those holding every gram of the terms.

Costs (measured in docs/benchmarks.md): a page is at most two queries whatever
its size; the unfiltered total, a scan of every visible product, is kept for a
minute (catalog.memo), and so are a search's ranked hits (the first 20 pages of
ids, not the rows); deep pages reached by "Next" continue from the previous page's
last row (keyset) instead of skipping rows.
"""
import re
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import Text, and_, bindparam, case, cast, func, literal, or_, select, tuple_
from sqlalchemy.dialects.postgresql import array
from sqlalchemy.orm import contains_eager

from ..coops.models import CoopStatus, Cooperative
from ..core.regions import canonical_province
from .cards import card_select, read_cards
from .categories import CATEGORIES
from .memo import catalog_memo
from .models import Product, ProductStatus
from .sqlite_index import candidates

SORTS = ("relevance", "newest", "price_asc", "price_desc")
MAX_PER_PAGE = 100


@dataclass
class CatalogQuery:
    q: str = ""
    category: str | None = None
    province: str | None = None
    cooperative_id: int | None = None
    surplus: bool = False
    min_price_fen: int | None = None
    max_price_fen: int | None = None
    sort: str = "relevance"
    page: int = 1
    per_page: int = 24

    def values(self) -> tuple:
        """The fields, in order (a key of kept statements and pieces). Not
        dataclasses.astuple, which deep-copies each field: str, int and bool need none."""
        return tuple(self.__dict__.values())


def _int_or_none(value, lo=0, hi=2**31 - 1):  # ids and fen are 32-bit columns: beyond, PostgreSQL errs
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if lo <= number <= hi else None


def parse_query(args, per_page_default=24) -> CatalogQuery:
    """Lenient: a filter value that makes no sense is ignored rather than an error,
    because these come from links people share and edit."""
    category = args.get("category") or None
    return CatalogQuery(
        q=" ".join((args.get("q") or "").split())[:100],
        category=category if category in CATEGORIES else None,
        province=canonical_province(args.get("province") or "") or None,
        cooperative_id=_int_or_none(args.get("cooperative_id"), 1),
        surplus=(args.get("surplus") or "") in ("1", "true", "on", "yes"),
        min_price_fen=_int_or_none(args.get("min_price_fen"), 0),
        max_price_fen=_int_or_none(args.get("max_price_fen"), 0),
        sort=args.get("sort") if args.get("sort") in SORTS else "relevance",
        page=_int_or_none(args.get("page"), 1, 100_000) or 1,
        per_page=_int_or_none(args.get("per_page"), 1, MAX_PER_PAGE) or per_page_default,
    )


def _like_pattern(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def public_products(cards_only=False):
    """Active products of verified cooperatives, with the cooperative loaded by the join.

    `cards_only`: rows of just what a product card shows (catalog.cards), not Products:
    a tenth of a row, and no ORM objects to build (see _rows)."""
    if cards_only:
        return card_select().where(*_VISIBLE)
    return (select(Product).join(Product.cooperative)
            .where(*_VISIBLE).options(contains_eager(Product.cooperative)))


def _rows(session, stmt, cards_only, params=None):
    """Products, or Cards for a `cards_only` statement."""
    return read_cards(session, stmt, params) if cards_only else session.scalars(stmt, params).all()


_VISIBLE = (Product.status == ProductStatus.active, Cooperative.status == CoopStatus.verified)
#: a search term of one or two Chinese characters (木耳, 茶): no trigram in it, see _filtered
CJK_SHORT_TERM = re.compile(r"^[\u3400-\u9fff]{1,2}$")


def _filtered(stmt, cq: CatalogQuery, dialect=None):
    """`stmt` (already joined to cooperatives) narrowed to the query's terms and filters."""
    terms = cq.q.split()
    if dialect == "sqlite" and terms:  # which products may hold the terms, from the FTS5 indexes
        stmt = stmt.where(*candidates(Product.id, terms))
    for term in terms:
        if dialect == "postgresql" and CJK_SHORT_TERM.match(term):
            # pg_trgm cannot serve a term shorter than three characters; the GIN index over
            # the CJK unigrams and bigrams of search_text (migration 0007) can. For such a
            # term "has this gram" is exactly "contains it", so no LIKE is needed (whose
            # extra estimate made the planner expect one row and loop over the hits).
            stmt = stmt.where(func.cjk_grams(Product.search_text).op("@>")(array([cast(term, Text)])))
        else:
            stmt = stmt.where(Product.search_text.like(_like_pattern(term), escape="\\"))
    if cq.category:
        stmt = stmt.where(Product.category == cq.category)
    if cq.province:
        stmt = stmt.where(Cooperative.province == cq.province)
    if cq.cooperative_id:
        stmt = stmt.where(Product.cooperative_id == cq.cooperative_id)
    if cq.surplus:
        stmt = stmt.where(Product.surplus.is_(True))
    if cq.min_price_fen is not None:
        stmt = stmt.where(Product.price_fen >= cq.min_price_fen)
    if cq.max_price_fen is not None:
        stmt = stmt.where(Product.price_fen <= cq.max_price_fen)
    return stmt


def catalog_select(cq: CatalogQuery, dialect=None, cards_only=False):
    """Every matching product with its cooperative, in the query's order."""
    return _filtered(public_products(cards_only), cq, dialect).order_by(*_ordering(cq, cq.q.split()))


def _ordering(cq, terms):
    order = []
    if cq.sort == "relevance" and terms:  # a hit in the title ranks above a hit in the description
        order.append(case((func.lower(Product.title).like(_like_pattern(terms[0]), escape="\\"), 0), else_=1))
    return order + [column.desc() if way == "desc" else column.asc() for column, way in KEYSET[cq.sort]]


#: the sort columns of each order without search terms, which keyset pagination continues from
KEYSET = {
    "relevance": ((Product.surplus, "desc"), (Product.id, "desc")),
    "newest": ((Product.id, "desc"),),
    "price_asc": ((Product.price_fen, "asc"), (Product.id, "desc")),
    "price_desc": ((Product.price_fen, "desc"), (Product.id, "desc")),
}


def cursor_after(product: Product, sort: str) -> str:
    """What a "next page" link carries so that page starts after `product`: e.g. "1.40211"."""
    return ".".join(str(int(getattr(product, column.key))) for column, _ in KEYSET[sort])


def _parse_cursor(text, sort):
    parts = (text or "").split(".")
    if len(parts) != len(KEYSET[sort]) or not all(p.isdigit() and len(p) <= 10 for p in parts):
        return None  # a damaged link: fall back to the page number
    return [bool(int(p)) if column.key == "surplus" else int(p) for p, (column, _) in zip(parts, KEYSET[sort])]


def _after(sort, values):
    """Rows that come after the cursor's row in this order (keyset pagination)."""
    keys = KEYSET[sort]
    if len({way for _, way in keys}) == 1:  # one direction: a row comparison the index serves
        left = tuple_(*[column for column, _ in keys])
        right = tuple_(*[literal(v, column.type) for v, (column, _) in zip(values, keys)])
        return left < right if keys[0][1] == "desc" else left > right
    clauses = []
    for i, (column, way) in enumerate(keys):
        tie = [c == literal(v, c.type) for v, (c, _) in zip(values[:i], keys[:i])]
        beyond = column < values[i] if way == "desc" else column > values[i]
        clauses.append(and_(*tie, beyond))
    return or_(*clauses)


def run_catalog(session, cq: CatalogQuery, after: str | None = None, with_total: bool = True,
                cards_only: bool = False):
    """(products, total) for one page, in at most two queries whatever the page size.

    Searches (`q`) rank the matching ids, count them with a window, and keep both a
    minute (_search_page), then load that page's rows. Browsing without terms takes the
    total from the catalog memo (a count query at most once a minute per filter
    combination) and its rows straight from the listing index; with `after` (a cursor
    from the previous page's last row) they start there instead of skipping `offset`
    rows, and so do numbered pages seen before (_numbered_page). `with_total=False`
    skips the total (None). `cards_only` loads only what product cards show
    (public_products)."""
    dialect = session.get_bind().dialect.name
    if cq.q:
        return _search_page(session, cq, dialect, cards_only)
    total = _cached_total(session, cq, dialect) if with_total else None
    cursor = _parse_cursor(after, cq.sort) if after else None
    if cursor is None and cq.page > 1:
        return _numbered_page(session, cq, dialect, cards_only), total
    stmt = _browse_statement(cq.values(), tuple(cursor) if cursor else None, dialect, cards_only)
    return _rows(session, stmt, cards_only), total


def _numbered_page(session, cq, dialect, cards_only):
    """Page N by its number (?page=50) without skipping (N-1) x per_page rows each time.

    The first view reads one row more, the last of page N-1, and keeps its sort values in
    the catalog memo; later views continue after that row (keyset), as "Next" links do.
    So a deep page costs a scan of the rows before it once a minute per process instead
    of on every view; meanwhile the page starts where it did at the first view, which
    can differ by the rows added or removed before it in another process (the total
    shown lags alike); a commit in this process empties the memo at once."""
    key = ("page-start", *_filters_key(cq), cq.sort, cq.page, cq.per_page)
    first_view = []

    def read_with_the_row_before():
        lead = _browse_statement(cq.values(), None, dialect, cards_only, lead=True)
        rows = _rows(session, lead, cards_only)
        first_view.append(rows[1:])
        return tuple(_parse_cursor(cursor_after(rows[0], cq.sort), cq.sort)) if rows else None

    start = catalog_memo().get(key, read_with_the_row_before)
    if first_view:
        return first_view[0]
    return _rows(session, _browse_statement(cq.values(), start, dialect, cards_only), cards_only)


@lru_cache(maxsize=512)
def _browse_statement(cq_values, cursor, dialect, cards_only, lead=False):
    """The statement of one browse page (`lead`: with the previous page's last row first).
    Statements are immutable, and building one (and its SQL cache key) costs as much as
    running it on the listing index, so the most recent are reused: the same filters
    and page give the same statement."""
    cq = CatalogQuery(*cq_values)
    if cursor:
        return catalog_select(cq, dialect, cards_only).where(_after(cq.sort, cursor)).limit(cq.per_page)
    skip = (cq.page - 1) * cq.per_page
    if lead:
        return catalog_select(cq, dialect, cards_only).offset(skip - 1).limit(cq.per_page + 1)
    return catalog_select(cq, dialect, cards_only).offset(skip).limit(cq.per_page)


def _count(session, cq, dialect):
    stmt = select(func.count()).select_from(Product).join(Product.cooperative).where(*_VISIBLE)
    return session.scalar(_filtered(stmt, cq, dialect))


def _filters_key(cq):
    return (cq.q, cq.category, cq.province, cq.cooperative_id, cq.surplus, cq.min_price_fen, cq.max_price_fen)


def _cached_total(session, cq, dialect):
    return catalog_memo().get(("total", *_filters_key(cq)), lambda: _count(session, cq, dialect))


#: how many of a search's best hits (ids, in order) the catalog memo keeps: 20 pages of 24
KEPT_HITS = 480


def _search_page(session, cq, dialect, cards_only=False):
    """The page's ids from the search's ranked hits, then those products' rows.

    Ranking is the costly part (every hit is read to sort them: ~15 ms on PostgreSQL for
    2,000 hits of 100,000), so the first KEPT_HITS ranked ids and the number of hits are
    kept in the catalog memo, like the catalog totals: a repeated search (popular terms
    are) costs only the query that loads its page's rows. Those rows are read fresh and
    filtered again, so prices, stock and what may be shown are always current; a new or
    renamed product joins the hits or changes place within CATALOG_MEMO_SECONDS (at once
    in the process that saved it). Pages beyond KEPT_HITS rank their own slice."""
    start = (cq.page - 1) * cq.per_page
    if start + cq.per_page <= KEPT_HITS:
        ranked, total = catalog_memo().get(("hits", *_filters_key(cq), cq.sort),
                                           lambda: _ranked_hits(session, cq, dialect, KEPT_HITS, 0))
        ids = ranked[start:start + cq.per_page]
    else:
        ids, total = _ranked_hits(session, cq, dialect, cq.per_page, start)
        if not ids:  # a page past the end: the window had no row to say how many
            total = _count(session, cq, dialect)
    if not ids:
        return [], total
    place = {product_id: i for i, product_id in enumerate(ids)}
    rows = _rows(session, _visible_by_ids(cards_only), cards_only, {"ids": list(ids)})
    return sorted(rows, key=lambda p: place[p.id]), total


@lru_cache(maxsize=2)
def _visible_by_ids(cards_only):
    """Visible products among a list of ids (built once: the ids are an expanding parameter)."""
    return public_products(cards_only).where(Product.id.in_(bindparam("ids", expanding=True)))


def _ranked_hits(session, cq, dialect, limit, offset):
    """(ids of hits offset..offset+limit in rank order, number of hits) in one query: only
    the ids are sorted, and a window counts the hits (0 when the slice is empty)."""
    narrow = (select(Product.id, func.count().over()).select_from(Product).join(Product.cooperative)
              .where(*_VISIBLE))
    narrow = _filtered(narrow, cq, dialect).order_by(*_ordering(cq, cq.q.split())).limit(limit).offset(offset)
    hits = session.execute(narrow).all()
    return tuple(product_id for product_id, _ in hits), (hits[0][1] if hits else 0)
