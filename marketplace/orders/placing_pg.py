"""PostgreSQL: a checkout's rows in one statement (used by orders.placing._write).

The checkout, its orders (one per cooperative), their lines and the audit record go in
one data-modifying `WITH … INSERT … RETURNING` statement instead of four INSERTs: one
round trip, and one statement's Python, where a flash-sale crowd waits on each. The
rows and values are exactly the four INSERTs' (SQLite has no data-modifying CTEs and
keeps them).

A checkout of one regular line (a flash sale's "buy") also counts it against the
buyer's limit and takes its stock in the same statement, with the same guarded SQL as
orders.stock: `INSERT … ON CONFLICT … DO UPDATE … WHERE quantity + n <= limit` and
`UPDATE products SET stock = stock - n WHERE id = … AND stock >= n`, whose row lock
lasts from there to the COMMIT as before. A guard that refuses returns no row, and
placing raises (the transaction rolls back with everything the statement wrote). With
more lines the UPDATEs stay separate statements in product order: the sub-statements of
one WITH run in no promised order, and two checkouts locking two products in opposite
orders would deadlock.
"""
from functools import cache

from sqlalchemy import JSON, bindparam, text

from ..catalog.changes import note_bulk_write
from ..catalog.models import Product, ProductStatus
from ..core.db import UTCDateTime
from ..extensions import db
from .models import Checkout, CheckoutStatus, Order, OrderStatus

_PLACE = """
WITH new_checkout AS (
    INSERT INTO checkouts (buyer_id, status, amount_fen, currency, expires_at, shipping_address, provider,
                           payment_intent_id, created_at)
    VALUES (:buyer_id, :checkout_status, :amount_fen, :currency, :expires_at, :shipping_address, :provider,
            :payment_intent_id, :now)
    RETURNING id
), new_orders AS (
    INSERT INTO orders (checkout_id, cooperative_id, buyer_id, status, subtotal_fen, refunded_fen, created_at)
    SELECT new_checkout.id, o.cooperative_id, :buyer_id, :order_status, o.subtotal_fen, 0, :now
    FROM new_checkout, unnest(CAST(:order_coops AS INTEGER[]), CAST(:order_subtotals AS INTEGER[]))
        AS o (cooperative_id, subtotal_fen)
    RETURNING id, cooperative_id
), new_lines AS (
    INSERT INTO order_lines (order_id, product_id, livestream_id, title, unit, unit_price_fen, quantity,
                             line_total_fen, refunded_quantity, refunded_fen)
    SELECT new_orders.id, l.product_id, l.livestream_id, l.title, l.unit, l.unit_price_fen, l.quantity,
           l.line_total_fen, 0, 0
    FROM new_orders JOIN unnest(CAST(:line_coops AS INTEGER[]), CAST(:line_products AS INTEGER[]),
                                CAST(:line_livestreams AS INTEGER[]), CAST(:line_titles AS VARCHAR[]),
                                CAST(:line_units AS VARCHAR[]), CAST(:line_prices AS INTEGER[]),
                                CAST(:line_quantities AS INTEGER[]), CAST(:line_totals AS INTEGER[]))
        AS l (cooperative_id, product_id, livestream_id, title, unit, unit_price_fen, quantity, line_total_fen)
        ON l.cooperative_id = new_orders.cooperative_id
    RETURNING id, product_id, livestream_id
), new_audit AS (
    INSERT INTO audit_records (created_at, actor_id, action, object_type, object_id, before, after, ip)
    SELECT :now, :buyer_id, 'checkout.place', :object_type, new_checkout.id, NULL,
           json_build_object('amount_fen', CAST(:amount_fen AS INTEGER),
                             'orders', (SELECT json_agg(id ORDER BY cooperative_id) FROM new_orders)),
           :ip
    FROM new_checkout
)
{one_line}
SELECT 'checkout' AS kind, id, CAST(NULL AS INTEGER) AS key, CAST(NULL AS INTEGER) AS livestream_id FROM new_checkout
UNION ALL SELECT 'order', id, cooperative_id, NULL FROM new_orders
UNION ALL SELECT 'line', id, product_id, livestream_id FROM new_lines{one_line_results}
"""
#: one regular line: its per-buyer count (orders.stock._COUNT) and its stock (orders.stock._take), last
_ONE_LINE = """, counted AS (
    INSERT INTO buyer_product_counts (buyer_id, product_id, quantity) VALUES (:buyer_id, :product_id, :quantity)
    ON CONFLICT (buyer_id, product_id) DO UPDATE SET quantity = buyer_product_counts.quantity + excluded.quantity{guard}
    RETURNING product_id
), taken AS (
    UPDATE products SET stock = stock - :quantity
    WHERE id = :product_id AND stock >= :quantity AND status = :active
    RETURNING id
)"""
_ONE_LINE_RESULTS = """
UNION ALL SELECT 'counted', product_id, NULL, NULL FROM counted
UNION ALL SELECT 'taken', id, NULL, NULL FROM taken"""
_LIMIT = "\n    WHERE buyer_product_counts.quantity + excluded.quantity <= :limit"


@cache
def _statement(one_line: bool, limited: bool):
    """Built once per kind; the typed parameters are processed as the ORM columns' types would."""
    checkout, order = Checkout.__table__.c, Order.__table__.c
    sql = _PLACE.format(one_line=_ONE_LINE.format(guard=_LIMIT if limited else "") if one_line else "",
                        one_line_results=_ONE_LINE_RESULTS if one_line else "")
    typed = [bindparam("active", type_=Product.__table__.c.status.type)] if one_line else []
    return text(sql).bindparams(*typed,
        bindparam("checkout_status", type_=checkout.status.type), bindparam("order_status", type_=order.status.type),
        bindparam("expires_at", type_=UTCDateTime()), bindparam("now", type_=UTCDateTime()),
        bindparam("shipping_address", type_=JSON()))


def write(connection, placed, shipping: dict, now, ip, one_line=None, limit: int | None = None) -> dict:
    """Write `placed` (orders.placing.Placed, its ids 0) and fill in the ids. With
    `one_line` (a WantedLine; `limit` its product's per-buyer limit) also count and take
    its units: returns {"counted": product ids counted, "taken": product ids whose stock
    was taken}, each empty when its guard refused; else {}."""
    lines = [(order, line) for order in placed.orders for line in order.lines]
    params = {}
    if one_line is not None:
        params = {"product_id": one_line.product_id, "quantity": one_line.quantity, "active": ProductStatus.active}
        if limit is not None:
            params["limit"] = limit
    rows = connection.execute(_statement(one_line is not None, limit is not None), {**params,
        "buyer_id": placed.buyer_id, "checkout_status": CheckoutStatus.pending_payment,
        "amount_fen": placed.amount_fen, "currency": placed.currency, "expires_at": placed.expires_at,
        "shipping_address": shipping, "provider": placed.provider, "payment_intent_id": placed.payment_intent_id,
        "now": now, "order_status": OrderStatus.pending_payment, "object_type": Checkout.__tablename__, "ip": ip,
        "order_coops": [o.cooperative_id for o in placed.orders],
        "order_subtotals": [o.subtotal_fen for o in placed.orders],
        "line_coops": [o.cooperative_id for o, _ in lines], "line_products": [li.product_id for _, li in lines],
        "line_livestreams": [li.livestream_id for _, li in lines], "line_titles": [li.title for _, li in lines],
        "line_units": [li.unit for _, li in lines], "line_prices": [li.unit_price_fen for _, li in lines],
        "line_quantities": [li.quantity for _, li in lines], "line_totals": [li.line_total_fen for _, li in lines],
    }).all()
    # RETURNING comes in no promised order: match the rows by their keys (a checkout has
    # one order per cooperative, and one line per product and live show after merging)
    order_ids = {r.key: r.id for r in rows if r.kind == "order"}
    line_ids = {(r.key, r.livestream_id): r.id for r in rows if r.kind == "line"}
    placed.id = next(r.id for r in rows if r.kind == "checkout")
    for order in placed.orders:
        order.id = order_ids[order.cooperative_id]
        for line in order.lines:
            line.id = line_ids[(line.product_id, line.livestream_id)]
    if len(order_ids) != len(placed.orders) or len(line_ids) != len(lines):
        raise RuntimeError("the checkout's rows were not all written")  # (never: a guard against a bad edit)
    if one_line is None:
        return {}
    note_bulk_write(db.session)  # the stock changed: the storefront's caches go at the commit
    return {"counted": {r.id for r in rows if r.kind == "counted"}, "taken": {r.id for r in rows if r.kind == "taken"}}
