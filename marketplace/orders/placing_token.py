"""PostgreSQL: the API's one-line checkout (a flash sale's "buy") in one statement, the
bearer token checked inside it.

`placing.place` reads the buyer (through the token) and the product first, then writes
with placing_pg's statement: two round trips, and the user loaded as an ORM object on
the way. Here one `WITH … INSERT` does all of it: it finds the token's active user and
the product (active, of a verified cooperative), and only when both are there and the
stock and the per-buyer limit allow it (as last committed) writes the checkout, its
order, line and audit record, counts the line for the buyer and takes the stock with
the same guarded SQL as placing_pg, the UPDATE last. Its rows say what it found; a
guard that refuses after the writes (another buyer took the last units, or the
buyer's count reached the limit, meanwhile) makes it fail as a whole through
refuse_checkout() (migration 0009), so nothing is written. The checks and messages are
placing's own (the tests hold both paths to the same answers); what changes is only
where the rows are read.
"""
from dataclasses import dataclass
from datetime import timedelta
from functools import cache

from flask import current_app, has_request_context, request
from flask_babel import lazy_gettext as _l

from ..catalog.changes import note_bulk_write
from ..catalog.models import ProductStatus
from ..coops.models import Cooperative, CoopStatus
from ..core.db import utcnow
from ..core.errors import Unauthorized
from ..core.money import DEFAULT_CURRENCY
from ..extensions import db
from . import placing, placing_pg
from .events import checkout_placed
from .models import Checkout, CheckoutStatus, OrderStatus

_PLACE = """
WITH buyer AS (
    SELECT users.id FROM api_tokens JOIN users ON users.id = api_tokens.user_id
    WHERE api_tokens.token_hash = :token_hash AND api_tokens.revoked_at IS NULL
      AND api_tokens.expires_at > :now AND users.active
), product AS (
    SELECT products.id, products.cooperative_id, cooperatives.name AS cooperative_name, products.title,
           products.unit, products.price_fen, products.stock, products.per_buyer_limit
    FROM products JOIN cooperatives ON cooperatives.id = products.cooperative_id
    WHERE products.id = :product_id AND products.status = :active AND cooperatives.status = :verified
), sale AS (
    SELECT buyer.id AS buyer_id, product.* FROM buyer, product
    WHERE product.stock >= :quantity AND (product.per_buyer_limit IS NULL OR :quantity <= product.per_buyer_limit)
), new_checkout AS (
    INSERT INTO checkouts (buyer_id, status, amount_fen, currency, expires_at, shipping_address, provider,
                           payment_intent_id, created_at)
    SELECT sale.buyer_id, :checkout_status, sale.price_fen * :quantity, :currency, :expires_at, :shipping_address,
           :provider, :payment_intent_id, :now
    FROM sale
    RETURNING id, buyer_id, amount_fen
), new_orders AS (
    INSERT INTO orders (checkout_id, cooperative_id, buyer_id, status, subtotal_fen, refunded_fen, created_at)
    SELECT new_checkout.id, sale.cooperative_id, sale.buyer_id, :order_status, new_checkout.amount_fen, 0, :now
    FROM new_checkout, sale
    RETURNING id, cooperative_id
), new_lines AS (
    INSERT INTO order_lines (order_id, product_id, livestream_id, title, unit, unit_price_fen, quantity,
                             line_total_fen, refunded_quantity, refunded_fen)
    SELECT new_orders.id, sale.id, NULL, sale.title, sale.unit, sale.price_fen, :quantity,
           sale.price_fen * :quantity, 0, 0
    FROM new_orders, sale
    RETURNING id, product_id
), new_audit AS (
    INSERT INTO audit_records (created_at, actor_id, action, object_type, object_id, before, after, ip)
    SELECT :now, new_checkout.buyer_id, 'checkout.place', :object_type, new_checkout.id, NULL,
           json_build_object('amount_fen', new_checkout.amount_fen,
                             'orders', (SELECT json_agg(id ORDER BY cooperative_id) FROM new_orders)),
           :ip
    FROM new_checkout
), counted AS (
    INSERT INTO buyer_product_counts (buyer_id, product_id, quantity)
    SELECT sale.buyer_id, sale.id, :quantity FROM sale
    ON CONFLICT (buyer_id, product_id) DO UPDATE SET quantity = buyer_product_counts.quantity + excluded.quantity
    WHERE buyer_product_counts.quantity + excluded.quantity <= COALESCE((SELECT per_buyer_limit FROM sale), 2147483647)
    RETURNING product_id
), taken AS (
    UPDATE products SET stock = stock - :quantity
    WHERE id = (SELECT id FROM sale) AND stock >= :quantity AND status = :active
    RETURNING id
), verdict AS (
    SELECT refuse_checkout(CASE WHEN NOT EXISTS (SELECT 1 FROM sale) THEN NULL
                                WHEN NOT EXISTS (SELECT 1 FROM counted) THEN 'per_buyer_limit'
                                WHEN NOT EXISTS (SELECT 1 FROM taken) THEN 'insufficient_stock' END) AS refused
)
SELECT 'buyer' AS kind, id, CAST(NULL AS INTEGER) AS key, CAST(NULL AS VARCHAR) AS title,
       CAST(NULL AS VARCHAR) AS unit, CAST(NULL AS INTEGER) AS price_fen, CAST(NULL AS INTEGER) AS stock,
       CAST(NULL AS INTEGER) AS per_buyer_limit, CAST(NULL AS VARCHAR) AS cooperative_name FROM buyer
UNION ALL SELECT 'product', id, cooperative_id, title, unit, price_fen, stock, per_buyer_limit, cooperative_name
          FROM product
UNION ALL SELECT 'checkout', id, NULL, NULL, NULL, NULL, NULL, NULL, NULL FROM new_checkout
UNION ALL SELECT 'order', id, cooperative_id, NULL, NULL, NULL, NULL, NULL, NULL FROM new_orders
UNION ALL SELECT 'line', id, product_id, NULL, NULL, NULL, NULL, NULL, NULL FROM new_lines
UNION ALL SELECT 'verdict', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL FROM verdict WHERE refused
"""


@dataclass
class _Found:
    buyer_id: int | None = None
    product: placing.ProductRow | None = None
    checkout_id: int | None = None
    order_id: int | None = None
    line_id: int | None = None


def applies(wanted: list[placing.WantedLine]) -> bool:
    """Whether this checkout is one regular line on PostgreSQL, before anything was read:
    then its session runs in autocommit (placing.statement_per_transaction) and
    place_with_token places it."""
    return placing.statement_per_transaction(wanted)


def place_with_token(token_hash: str, wanted: list[placing.WantedLine], address: dict, provider: str,
                     payment_intent_id: str | None = None) -> placing.Placed:
    """placing.place for the buyer behind the token (hashed): the same checks, answers
    and rows, in one statement. Raises Unauthorized for a token that is not live."""
    line = placing.merge_lines(wanted)[0]
    shipping = placing.check_address(address)
    now = utcnow()
    expires_at = now + timedelta(minutes=current_app.config["RESERVATION_MINUTES"])
    params = {"token_hash": token_hash, "product_id": line.product_id, "quantity": line.quantity,
              "active": ProductStatus.active, "verified": CoopStatus.verified,
              "checkout_status": CheckoutStatus.pending_payment, "order_status": OrderStatus.pending_payment,
              "currency": DEFAULT_CURRENCY, "expires_at": expires_at, "shipping_address": shipping,
              "provider": provider, "payment_intent_id": payment_intent_id, "now": now,
              "object_type": Checkout.__tablename__, "ip": request.remote_addr if has_request_context() else None}
    note_bulk_write(db.session)  # the stock changes: the storefront's caches go at the session's commit
    connection = db.session.connection()
    try:
        rows = placing_pg.execute(connection, _compiled(connection.dialect), params)
    except placing_pg.Refused as refused:  # a guard refused after the rows were written: nothing was
        product = placing.read_product(line.product_id)
        raise placing.refusal(refused.reason, product) from None
    found = _found(rows)
    if found.buyer_id is None:
        raise Unauthorized(_l("The token is invalid, expired or revoked."), code="invalid_token")
    if found.product is None:
        raise placing.unavailable(line.product_id)
    if found.checkout_id is None:  # refused before writing: the stock or the limit as last committed
        raise placing.refused_line(line, found.product) or RuntimeError("the checkout was not written")
    placed = _placed(found, line, now, expires_at, provider, payment_intent_id)
    checkout_placed.send(placed.id)
    return placed


def _found(rows) -> _Found:
    found = _Found()
    for kind, id_, key, title, unit, price_fen, stock, per_buyer_limit, cooperative_name in rows:
        if kind == "buyer":
            found.buyer_id = id_
        elif kind == "product":
            found.product = placing.ProductRow(
                id=id_, status=ProductStatus.active, price_fen=price_fen, title=title, unit=unit,
                stock=stock, per_buyer_limit=per_buyer_limit, cooperative_id=key, cooperative_name=cooperative_name,
                cooperative_status=CoopStatus.verified)
        elif kind in ("checkout", "order", "line"):
            setattr(found, f"{kind}_id", id_)
    return found


def _placed(found: _Found, line, now, expires_at, provider, payment_intent_id) -> placing.Placed:
    product, price = found.product, found.product.price_fen
    placed_line = placing.PlacedLine(id=found.line_id, product_id=product.id, livestream_id=None, title=product.title,
                                     unit=product.unit, unit_price_fen=price, quantity=line.quantity,
                                     line_total_fen=price * line.quantity)
    order = placing.PlacedOrder(id=found.order_id, cooperative_id=product.cooperative_id,
                                cooperative_name=product.cooperative_name, subtotal_fen=placed_line.line_total_fen,
                                lines=[placed_line])
    return placing.Placed(id=found.checkout_id, buyer_id=found.buyer_id, amount_fen=order.subtotal_fen,
                          currency=DEFAULT_CURRENCY, created_at=now, expires_at=expires_at, provider=provider,
                          payment_intent_id=payment_intent_id, orders=[order])


@cache
def _compiled(dialect) -> placing_pg.Compiled:
    return placing_pg.compile_for_psycopg(_PLACE, dialect,
                                          {**placing_pg.TYPED, "verified": Cooperative.__table__.c.status.type})
