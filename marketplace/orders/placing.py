"""Placing a checkout: the write path a flash-sale crowd goes through.

The products are read once (one query for every line); a sold-out product is refused
there, before anything is written. The checkout, its orders (one per cooperative),
their lines and the audit record are then written with Core statements built once per
process (on PostgreSQL one `WITH … INSERT` statement, placing_pg): no ORM unit of
work, no objects for the session to track and expire. The
stock is taken last by the guarded single statement of `stock.take_stock`, so the
product's row is locked only from that UPDATE to the COMMIT, and a buyer who loses the
race there leaves nothing behind but a rolled-back transaction.

`place()` returns plain data (`Placed`), enough for the API to answer without reading
anything back; `checkout.place_checkout` loads the ORM checkout for the pages.
"""
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import NamedTuple

from flask import current_app, has_request_context, request
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, insert, select

from ..catalog.models import Product, ProductStatus
from ..coops.models import Cooperative, CoopStatus
from ..core.audit import AuditRecord
from ..core.db import utcnow, without_transaction
from ..core.errors import Conflict, Invalid
from ..core.money import DEFAULT_CURRENCY
from ..core.validation import Checker
from ..extensions import db
from . import placing_pg, pricing, stock
from .events import checkout_placed
from .models import Checkout, CheckoutStatus, Order, OrderLine, OrderStatus

MAX_QUANTITY = 999  #: per line; more than this is a typo, not a purchase
MAX_LINES = 50


@dataclass
class WantedLine:
    product_id: int
    quantity: int
    livestream_id: int | None = None
    #: the unit price the buyer was shown, in fen; a different current price is refused
    seen_price_fen: int | None = None


@dataclass
class PlacedLine:
    id: int
    product_id: int
    livestream_id: int | None
    title: str
    unit: str
    unit_price_fen: int
    quantity: int
    line_total_fen: int


@dataclass
class PlacedOrder:
    id: int
    cooperative_id: int
    cooperative_name: str
    subtotal_fen: int
    lines: list[PlacedLine] = field(default_factory=list)


@dataclass
class Placed:
    """A checkout as this request wrote it (status pending_payment; its orders too)."""
    id: int
    buyer_id: int
    amount_fen: int
    currency: str
    created_at: datetime
    expires_at: datetime
    provider: str
    payment_intent_id: str | None
    orders: list[PlacedOrder]


def check_address(data) -> dict:
    c = Checker(data if isinstance(data, dict) else {})
    c.text("name", max_len=80)
    c.text("phone", min_len=5, max_len=32)
    c.text("province", max_len=40)
    c.text("city", max_len=60)
    c.text("address", min_len=4, max_len=200)
    return c.done()


def statement_per_transaction(wanted: list[WantedLine]) -> bool:
    """Call before the request's first query. On PostgreSQL a checkout of one regular
    line writes everything in one all-or-nothing statement (placing_pg); what it reads
    before (the bearer token, the product) needs no transaction of its own. So the
    session's first transaction runs in autocommit (core.db.without_transaction): no
    BEGIN, no COMMIT, no ROLLBACK of a refused buyer, two or three round trips fewer
    under a flash-sale crowd."""
    if len({(w.product_id, w.livestream_id) for w in wanted}) == 1 and wanted[0].livestream_id is None:
        return without_transaction(db.session())  # (the request's Session, behind the scoped_session)
    return False


def place(buyer, wanted: list[WantedLine], address: dict, provider: str,
          payment_intent_id: str | None = None, commit: bool = False, products_read=None) -> Placed:
    """Reserve stock and write the checkout with its orders, in the caller's
    transaction. Raises before the caller has anything to keep: on error it rolls back.
    `payment_intent_id`: a provider that needs no network call names its payment now.
    `commit`: the caller commits right after this returns; on PostgreSQL a one-line
    checkout then commits with its statement, in one round trip (placing_pg).
    `products_read`: the products, read already (read_products)."""
    lines = merge_lines(wanted)
    shipping = check_address(address)
    products = _load_products(lines, products_read)
    prices = _price_lines(buyer, lines, products)
    regular = [w for w in lines if w.livestream_id is None]  # (live lines took their show's quota)
    connection = db.session.connection()
    # On PostgreSQL a checkout of one regular line (a flash sale's "buy") counts it for
    # the buyer and takes its stock in the statement that writes the rows (placing_pg).
    # More lines take their stock one guarded UPDATE at a time, in product order.
    folded = regular[0] if connection.dialect.name == "postgresql" and len(regular) == 1 else None
    if folded is None:
        _count_for_buyer(buyer, regular, products)
    try:
        placed = _write(connection, buyer, lines, products, prices, shipping, provider, payment_intent_id,
                        folded, commit)
    except placing_pg.Refused as refused:
        raise refusal(refused.reason, products[folded.product_id]) from None
    if folded is None:
        _take_stock(lines, products)
    checkout_placed.send(placed.id)
    return placed


# --- checking what was asked ---------------------------------------------------

def merge_lines(lines: list[WantedLine]) -> list[WantedLine]:
    if not lines:
        raise Invalid(_l("The cart is empty."), code="empty_cart")
    if len(lines) > MAX_LINES:
        raise Invalid(_l("At most %(n)d different products per order.", n=MAX_LINES), code="too_many_lines")
    merged: dict[tuple, WantedLine] = {}
    for line in lines:
        _check_quantity(line)
        key = (line.product_id, line.livestream_id)
        if key in merged:
            merged[key].quantity += line.quantity
        else:
            merged[key] = WantedLine(**vars(line))
    for line in merged.values():  # after merging: two lines of 600 are one line of 1200
        _check_quantity(line)
    return sorted(merged.values(), key=lambda w: w.product_id)  # one lock order: no deadlocks


def _check_quantity(line: WantedLine) -> None:
    quantity = line.quantity
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= MAX_QUANTITY:
        raise Invalid(_l("Quantities are whole numbers from 1 to %(n)d.", n=MAX_QUANTITY), code="invalid_quantity",
                      fields={"product_id": [str(line.product_id)]})


class ProductRow(NamedTuple):
    """What placing reads of a product (and its cooperative)."""
    id: int
    status: ProductStatus
    price_fen: int
    title: str
    unit: str
    stock: int
    per_buyer_limit: int | None
    cooperative_id: int
    cooperative_name: str
    cooperative_status: CoopStatus


def _product_columns(prefix=""):
    p, c = Product.__table__.c, Cooperative.__table__.c
    columns = [p.id, p.status, p.price_fen, p.title, p.unit, p.stock, p.per_buyer_limit, p.cooperative_id,
               c.name, c.status]
    return [column.label(prefix + name) for column, name in zip(columns, ProductRow._fields, strict=True)]


def _products_join():
    p, c = Product.__table__, Cooperative.__table__
    return p.join(c, p.c.cooperative_id == c.c.id)


@cache
def _products_query():
    return (select(*_product_columns()).select_from(_products_join())
            .where(Product.__table__.c.id.in_(bindparam("ids", expanding=True))))


def products_with_token(wanted: list[WantedLine]) -> tuple:
    """(extend, params) for the API's bearer-token statement (auth.services.user_for_api_token):
    the checkout's products outer-joined to it, so that the buyer and what placing reads of
    the products come in one round trip. read_products() takes them from its rows."""
    ids = product_params(wanted)["ids"]
    if len(ids) == 1:  # (a flash sale's "buy": an equality, cheaper to run than an expanding IN)
        return _one_product_with_token, {"id": ids[0]}
    return _products_with_token, {"ids": ids}


def _products_with_token(token_statement):
    return (token_statement.add_columns(*_product_columns("product_"))
            .outerjoin(_products_join(), Product.__table__.c.id.in_(bindparam("ids", expanding=True))))


def _one_product_with_token(token_statement):
    return (token_statement.add_columns(*_product_columns("product_"))
            .outerjoin(_products_join(), Product.__table__.c.id == bindparam("id")))


def product_params(wanted: list[WantedLine]) -> dict:
    return {"ids": sorted({w.product_id for w in wanted})}


def read_products(rows) -> list[ProductRow]:
    """The products in the rows of products_with_token's statement."""
    names = [f"product_{name}" for name in ProductRow._fields]
    return [ProductRow(*(row._mapping[name] for name in names)) for row in rows if row.product_id is not None]


def _load_products(lines, rows=None) -> dict:
    """product id -> its row (as committed now: no session cache in the way); `rows`:
    already read (read_products)."""
    if rows is None:
        rows = db.session.execute(_products_query(), product_params(lines)).all()
    found = {row.id: row for row in rows}
    for w in lines:
        p = found.get(w.product_id)
        if p is None or p.status != ProductStatus.active or p.cooperative_status != CoopStatus.verified:
            raise unavailable(w.product_id)
        if w.seen_price_fen is not None and w.seen_price_fen != p.price_fen:
            raise Conflict(_l("The price of “%(title)s” changed. Please check your cart.", title=p.title),
                           code="price_changed")
    return found


def read_product(product_id: int) -> ProductRow | None:
    return db.session.execute(_products_query(), {"ids": [product_id]}).first()


def unavailable(product_id: int) -> Invalid:
    return Invalid(_l("A product in your cart is no longer for sale."), code="product_unavailable",
                   fields={"product_id": [str(product_id)]})


def refused_line(line: WantedLine, product) -> Conflict | None:
    """A regular line's refusal as the product was last committed: not enough stock, or
    more than the per-buyer limit in one line (no count to ask)."""
    if product.stock < line.quantity:
        return _not_enough(product)
    if product.per_buyer_limit is not None and line.quantity > product.per_buyer_limit:
        return _over_limit(product)
    return None


def refusal(reason: str, product) -> Conflict:
    """The answer to a refusal of placing_pg's guards (Refused.reason)."""
    return _over_limit(product) if reason == "per_buyer_limit" else _not_enough(product)


def _not_enough(product) -> Conflict:
    return Conflict(_l("Not enough “%(title)s” left.", title=product.title), code="insufficient_stock")


def _over_limit(product) -> Conflict:
    return Conflict(_l("You can buy at most %(n)d of “%(title)s”.", n=product.per_buyer_limit, title=product.title),
                    code="per_buyer_limit")


def _price_lines(buyer, lines, products) -> dict:
    """The unit price of each line: the live show's (its quota taken now) or the
    product's. Regular lines count against the buyer's per-product limit
    (_count_for_buyer); their stock is taken last, by _take_stock."""
    prices = {}
    for w in lines:
        product = products[w.product_id]
        live_price = pricing.take_live(buyer, w, product)
        if live_price is not None:
            prices[id(w)] = live_price
            continue
        w.livestream_id = None  # not live any more, or its quota is gone: the regular price
        prices[id(w)] = product.price_fen
        refused = refused_line(w, product)  # as last committed: fail fast, before any write or lock
        if refused is not None:
            raise refused
    return prices


def _count_for_buyer(buyer, regular, products) -> None:
    """Count each regular line against the buyer's per-product limit: one guarded
    statement each (placing_pg's statement does it for a folded line)."""
    for w in regular:
        product = products[w.product_id]
        if not stock.count_for_buyer(buyer.id, product.id, w.quantity, product.per_buyer_limit):
            raise _over_limit(product)


def _take_stock(lines, products) -> None:
    """The guarded UPDATE of each regular line, after every other write of the checkout
    (placing_pg's statement does it, last, for a folded line). It locks the product's
    row until the commit, and everyone buying that product waits for the lock: the
    shorter this window, the faster a flash sale sells."""
    for w in lines:
        if w.livestream_id is None and not stock.take_stock(w.product_id, w.quantity):
            raise _not_enough(products[w.product_id])


# --- writing it ------------------------------------------------------------------

@cache
def _insert(table, returning: bool):
    """An INSERT into `table` built once (its SQL is compiled once per process)."""
    stmt = insert(table)
    return stmt.returning(table.c.id, sort_by_parameter_order=True) if returning else stmt


def _write(connection, buyer, lines, products, prices, shipping, provider, payment_intent_id,
           folded: WantedLine | None, commit: bool) -> Placed:
    """The checkout, one order per cooperative, their lines and the audit record:
    one statement on PostgreSQL (placing_pg, with the `folded` line's count and
    stock, committed with it when `commit`), four INSERTs elsewhere, whatever the
    number of orders and lines."""
    now = utcnow()
    placed = Placed(id=0, buyer_id=buyer.id, amount_fen=sum(prices[id(w)] * w.quantity for w in lines),
                    currency=DEFAULT_CURRENCY, created_at=now,
                    expires_at=now + timedelta(minutes=current_app.config["RESERVATION_MINUTES"]),
                    provider=provider, payment_intent_id=payment_intent_id, orders=[])
    by_coop = defaultdict(list)
    for w in lines:
        by_coop[products[w.product_id].cooperative_id].append(w)
    for coop_id, coop_lines in sorted(by_coop.items()):
        placed.orders.append(PlacedOrder(
            id=0, cooperative_id=coop_id, cooperative_name=products[coop_lines[0].product_id].cooperative_name,
            subtotal_fen=sum(prices[id(w)] * w.quantity for w in coop_lines),
            lines=[_line(w, products[w.product_id], prices[id(w)]) for w in coop_lines]))
    ip = request.remote_addr if has_request_context() else None
    if connection.dialect.name == "postgresql":
        limit = products[folded.product_id].per_buyer_limit if folded is not None else None
        placing_pg.write(connection, placed, shipping, now, ip, folded, limit, commit=commit and folded is not None)
        return placed
    _insert_each(connection.execute, placed, shipping, now, ip)
    return placed


def _insert_each(run, placed, shipping, now, ip) -> None:
    """The four INSERTs (checkout, orders, lines, audit record), filling in the ids."""
    placed.id = run(_insert(Checkout.__table__, True), [{
        "buyer_id": placed.buyer_id, "status": CheckoutStatus.pending_payment, "amount_fen": placed.amount_fen,
        "currency": placed.currency, "expires_at": placed.expires_at, "shipping_address": shipping,
        "provider": placed.provider, "payment_intent_id": placed.payment_intent_id, "created_at": now}]).scalar_one()
    order_ids = run(_insert(Order.__table__, True), [{
        "checkout_id": placed.id, "cooperative_id": o.cooperative_id, "buyer_id": placed.buyer_id,
        "status": OrderStatus.pending_payment, "subtotal_fen": o.subtotal_fen, "refunded_fen": 0, "created_at": now}
        for o in placed.orders]).scalars().all()
    for order, order_id in zip(placed.orders, order_ids, strict=True):
        order.id = order_id

    line_ids = run(_insert(OrderLine.__table__, True), [
        {**_columns(line), "order_id": order.id, "refunded_quantity": 0, "refunded_fen": 0}
        for order in placed.orders for line in order.lines]).scalars().all()
    for line, line_id in zip((line for order in placed.orders for line in order.lines), line_ids, strict=True):
        line.id = line_id

    run(_insert(AuditRecord.__table__, False), [{
        "created_at": now, "actor_id": placed.buyer_id, "action": "checkout.place",
        "object_type": Checkout.__tablename__, "object_id": placed.id, "before": None,
        "after": {"amount_fen": placed.amount_fen, "orders": [o.id for o in placed.orders]}, "ip": ip}])


def _line(wanted, product, unit_price_fen) -> PlacedLine:
    # (its id is filled in once the row is written)
    return PlacedLine(id=0, product_id=product.id, livestream_id=wanted.livestream_id, title=product.title,
                      unit=product.unit, unit_price_fen=unit_price_fen, quantity=wanted.quantity,
                      line_total_fen=unit_price_fen * wanted.quantity)


def _columns(line: PlacedLine) -> dict:
    """The order_lines columns the line sets (the id is the database's)."""
    return {k: v for k, v in vars(line).items() if k != "id"}
