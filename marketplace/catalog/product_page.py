"""The product page's read: one SELECT of plain rows.

The page shows a product and its cooperative, the product's photos, up to four other
goods of the cooperative and what of a sale goes to enrolled households. Read through
the ORM this took three statements (the product joined to its cooperative and photos,
the other goods' cards, the households' share) and made tracked objects of each row:
~1.9 x the CPU of the benchmark's bare one-query page, in Python and in PostgreSQL.

Here a single statement selects the product's and the cooperative's columns, with the
photos, the other goods and the share as correlated subqueries, the lists aggregated
into JSON arrays (`json_rows`: json_agg on PostgreSQL, json_group_array on SQLite).
The page gets named tuples whose attribute names are the models', so the template reads
them like the ORM objects, and the tuples are their own key for the page's kept
fragments (catalog.fragments.cached_fragment): whatever the page shows is in them.

Whoever may see the product is decided by catalog.services.may_view, the rule of the ORM
read (visible_product) too: everyone for an active product of a verified cooperative; a
draft, an archived product or a suspended cooperative's only its own members and the
staff of its county.
"""
from functools import cache
from typing import NamedTuple

from sqlalchemy import JSON, Date, bindparam, literal_column, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from ..coops.models import CoopStatus, Cooperative
from ..core.clock import local_today
from .cards import Card, CardCooperative
from .models import Product, ProductImage, ProductStatus

MORE_FROM_COOP = 4  #: other goods of the cooperative shown under the product
ACTIVE = literal_column(f"'{ProductStatus.active.value}'")  #: the condition of ix_products_coop_on_sale (0011)


class json_row(FunctionElement):
    """A JSON array of its arguments (json_build_array / json_array)."""
    type = JSON()
    name = "json_row"
    inherit_cache = True


class json_rows(FunctionElement):
    """An aggregate: a JSON array holding one json_row per row, [] for none on SQLite and
    NULL on PostgreSQL (`_rows` reads both as no rows). Its order is not defined, so
    callers select what they sort by."""
    type = JSON()
    name = "json_rows"
    inherit_cache = True


#: dialect -> (its function making a JSON array of its arguments, its aggregate of such arrays)
_JSON_ARRAYS = {"postgresql": ("json_build_array", "json_agg"), "sqlite": ("json_array", "json_group_array")}


@compiles(json_row)
def _json_row(element, compiler, **kw):
    array, _ = _JSON_ARRAYS[compiler.dialect.name]
    return f"{array}({compiler.process(element.clauses, **kw)})"


@compiles(json_rows)
def _json_rows(element, compiler, **kw):
    array, aggregate = _JSON_ARRAYS[compiler.dialect.name]
    return f"{aggregate}({array}({compiler.process(element.clauses, **kw)}))"


class PageCooperative(NamedTuple):
    id: int
    name: str
    province: str
    county: str
    status: CoopStatus

    @property
    def is_public(self):
        return self.status == CoopStatus.verified


class PageImage(NamedTuple):
    key: str
    alt: str
    width: int
    height: int


class PageProduct(NamedTuple):
    """A product as its page shows it; `images` in their order, `cooperative` its own."""
    id: int
    cooperative_id: int
    title: str
    description: str
    category: str
    origin: str
    unit: str
    price_fen: int
    currency: str
    stock: int
    per_buyer_limit: int | None
    harvest_date: object
    shelf_life_days: int | None
    status: ProductStatus
    surplus: bool
    cover_key: str | None
    updated_at: object
    images: tuple
    cooperative: PageCooperative


class ProductPage(NamedTuple):
    product: PageProduct
    more: tuple  #: Cards (catalog.cards) of the cooperative's other active goods
    share: tuple  #: (basis points, households, fixed fen per unit) of the links in force today


PRODUCT_COLUMNS = (Product.id, Product.cooperative_id, Product.title, Product.description, Product.category,
                   Product.origin, Product.unit, Product.price_fen, Product.currency, Product.stock,
                   Product.per_buyer_limit, Product.harvest_date, Product.shelf_life_days, Product.status,
                   Product.surplus, Product.cover_key, Product.updated_at)
COOP_COLUMNS = (Cooperative.id, Cooperative.name, Cooperative.province, Cooperative.county, Cooperative.status)


def read_product_page(session, product_id: int) -> ProductPage | None:
    """The page's product, whoever may see it, or None if there is no such product."""
    row = session.connection().execute(_statement(), {"product_id": product_id, "today": local_today()}).first()
    if row is None:
        return None
    n = len(PRODUCT_COLUMNS)
    coop = PageCooperative(*row[n:n + len(COOP_COLUMNS)])
    images, more, share = row[-3:]
    product = PageProduct(*row[:n], images=_images(images), cooperative=coop)
    card_coop = CardCooperative(coop.id, coop.name, coop.province)
    return ProductPage(product, _cards(more, card_coop), tuple(int(v or 0) for v in share))


def _images(rows) -> tuple:
    return tuple(PageImage(key, alt or "", width, height)
                 for _, _, key, alt, width, height in sorted(_rows(rows)))


def _cards(rows, coop: CardCooperative) -> tuple:
    """The other goods as Cards, in the order the page lists them: surplus first, newest first.
    (Their updated_at stays the JSON's text: only a kept card's key compares it.)"""
    cards = [Card(id, coop.id, title, unit, price_fen, currency, stock, bool(surplus), cover_key, updated_at, coop)
             for id, title, unit, price_fen, currency, stock, surplus, cover_key, updated_at in _rows(rows)]
    return tuple(sorted(cards, key=lambda c: (not c.surplus, -c.id)))


def _rows(value) -> list:
    return value or []


@cache
def _statement():
    """Built once (the product and the day are parameters)."""
    return select(*PRODUCT_COLUMNS, *COOP_COLUMNS, _images_column(), _more_column(), _share_column()).join_from(
        Product, Cooperative, Product.cooperative_id == Cooperative.id).where(Product.id == bindparam("product_id"))


def _images_column():
    image = ProductImage.__table__
    return select(json_rows(image.c.position, image.c.id, image.c.key, image.c.alt, image.c.width, image.c.height)
                  ).where(image.c.product_id == Product.id).scalar_subquery()


def _more_column():
    """The cooperative's other active goods: a LIMIT, so a derived table, correlated to the
    product. Its status is named literally (ACTIVE): so PostgreSQL reads them from the
    partial index of goods on sale, in order (migration 0011), however the plan is cached."""
    other = Product.__table__.alias("other")
    picked = select(other.c.id, other.c.title, other.c.unit, other.c.price_fen, other.c.currency, other.c.stock,
                    other.c.surplus, other.c.cover_key, other.c.updated_at).where(
        other.c.cooperative_id == Product.cooperative_id, other.c.id != Product.id,
        other.c.status == ACTIVE).order_by(
        other.c.surplus.desc(), other.c.id.desc()).limit(MORE_FROM_COOP).correlate(Product).subquery("more")
    return select(json_rows(*picked.c)).scalar_subquery()


def _share_column():
    """What the households.impact.share_line says: the links in force today, as one JSON array."""
    from ..households.links import share_in_force  # (households build on the catalog)

    figures = share_in_force(Product.cooperative_id, Product.id, bindparam("today", type_=Date))
    return figures.with_only_columns(json_row(*figures.selected_columns)).scalar_subquery()
