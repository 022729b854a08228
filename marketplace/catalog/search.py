"""Catalog search and filters, the same for the HTML catalog and the API.

`q` matches anywhere inside the lower-cased title, origin and description
(木耳 finds 黑木耳, "lily" finds "Day lily") with LIKE, which behaves the same on
SQLite and PostgreSQL. On PostgreSQL a pg_trgm GIN index serves these LIKEs.
"""
from dataclasses import dataclass

from sqlalchemy import case, func, select
from sqlalchemy.orm import contains_eager

from ..coops.models import CoopStatus, Cooperative
from ..core.regions import canonical_province
from .categories import CATEGORIES
from .models import Product, ProductStatus

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


def _int_or_none(value, lo=0, hi=10**12):
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


def public_products():
    """Active products of verified cooperatives, with the cooperative loaded by the join."""
    return (select(Product).join(Product.cooperative)
            .where(Product.status == ProductStatus.active, Cooperative.status == CoopStatus.verified)
            .options(contains_eager(Product.cooperative)))


def catalog_select(cq: CatalogQuery):
    stmt = public_products()
    terms = cq.q.split()
    for term in terms:
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
    return stmt.order_by(*_ordering(cq, terms))


def _ordering(cq, terms):
    if cq.sort == "newest":
        return [Product.id.desc()]
    if cq.sort == "price_asc":
        return [Product.price_fen.asc(), Product.id.desc()]
    if cq.sort == "price_desc":
        return [Product.price_fen.desc(), Product.id.desc()]
    order = []
    if terms:  # a hit in the title ranks above a hit in the description
        order.append(case((func.lower(Product.title).like(_like_pattern(terms[0]), escape="\\"), 0), else_=1))
    return order + [Product.surplus.desc(), Product.id.desc()]


def run_catalog(session, cq: CatalogQuery):
    """(products, total) for one page: two queries whatever the page size."""
    stmt = catalog_select(cq)
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    rows = session.scalars(stmt.limit(cq.per_page).offset((cq.page - 1) * cq.per_page)).all()
    return rows, total
