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
lasts from there to the COMMIT. A guard that refuses returns no row, and the statement
then calls refuse_checkout() (migration 0009), which raises: the statement fails as a
whole and writes nothing (placing turns it into the 409). With more lines the UPDATEs
stay separate statements in product order: the sub-statements of one WITH run in no
promised order, and two checkouts locking two products in opposite orders would deadlock.

Because a refused statement writes nothing, the API's checkout (which commits right
after placing anyway) sends the statement and its COMMIT together, in one round trip
(psycopg's pipeline mode, `commit=True`). The product's row is then locked from the
UPDATE until the commit is on disk, inside PostgreSQL. Sent one after the other, the
COMMIT waited for the thread to read the result and get the GIL back from the worker's
other threads, and every buyer of that product queued behind that wait.
"""
from dataclasses import dataclass
from functools import cache

import psycopg
from sqlalchemy import JSON, bindparam, text
from sqlalchemy.exc import DBAPIError

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
), verdict AS (
    SELECT refuse_checkout(CASE WHEN NOT EXISTS (SELECT 1 FROM counted) THEN 'per_buyer_limit'
                                WHEN NOT EXISTS (SELECT 1 FROM taken) THEN 'insufficient_stock' END) AS refused
)"""
#: (refuse_checkout raises or returns false: the row never comes, but the guards are read)
_ONE_LINE_RESULTS = """
UNION ALL SELECT 'verdict', NULL, NULL, NULL FROM verdict WHERE refused"""
_LIMIT = "\n    WHERE buyer_product_counts.quantity + excluded.quantity <= :limit"


class Refused(Exception):
    """The statement's guard refused: `reason` is "per_buyer_limit" or "insufficient_stock"."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Compiled:
    sql: str  #: as SQLAlchemy sends it to psycopg (its placeholders and casts)
    processors: dict  #: parameter name -> the column type's bind processor


#: the parameters whose values are processed as the ORM columns' types would
TYPED = {"active": Product.__table__.c.status.type, "checkout_status": Checkout.__table__.c.status.type,
         "order_status": Order.__table__.c.status.type, "expires_at": UTCDateTime(), "now": UTCDateTime(),
         "shipping_address": JSON()}


@cache
def _compiled(dialect, one_line: bool, limited: bool) -> Compiled:
    """The statement of this kind, compiled once per process for sending through psycopg
    itself, with the bind processors of its typed parameters."""
    sql = _PLACE.format(one_line=_ONE_LINE.format(guard=_LIMIT if limited else "") if one_line else "",
                        one_line_results=_ONE_LINE_RESULTS if one_line else "")
    return compile_for_psycopg(sql, dialect, TYPED)


def compile_for_psycopg(sql: str, dialect, typed: dict) -> Compiled:
    """`sql` (named :parameters) as SQLAlchemy would send it to psycopg, with the bind
    processors of those of its parameters that `typed` names."""
    typed = {name: type_ for name, type_ in typed.items() if f":{name}" in sql}
    stmt = text(sql).bindparams(*(bindparam(name, type_=type_) for name, type_ in typed.items()))
    processors = {name: type_.dialect_impl(dialect).bind_processor(dialect) for name, type_ in typed.items()}
    return Compiled(str(stmt.compile(dialect=dialect)),
                    {name: processor for name, processor in processors.items() if processor is not None})


def write(connection, placed, shipping: dict, now, ip, one_line=None, limit: int | None = None,
          commit: bool = False) -> None:
    """Write `placed` (orders.placing.Placed, its ids 0) and fill in the ids. With
    `one_line` (a WantedLine; `limit` its product's per-buyer limit) also count and take
    its units; Refused when a guard refuses (the statement failed: nothing written).
    `commit`: commit the transaction with the statement, in the same round trip (only
    with `one_line`, whose statement cannot half-succeed)."""
    lines = [(order, line) for order in placed.orders for line in order.lines]
    params = {}
    if one_line is not None:
        params = {"product_id": one_line.product_id, "quantity": one_line.quantity, "active": ProductStatus.active}
        if limit is not None:
            params["limit"] = limit
    params.update({
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
    })
    if commit and one_line is None:
        raise ValueError("only a one-line checkout's statement is all or nothing")
    if one_line is not None:
        note_bulk_write(db.session)  # the stock changes: the storefront's caches go at the session's commit
    rows = _execute(connection, _compiled(connection.dialect, one_line is not None, limit is not None), params,
                    commit)
    _fill_ids(placed, rows, len(lines))


def _fill_ids(placed, rows, line_count: int) -> None:
    # RETURNING comes in no promised order: match the rows by their keys (a checkout has
    # one order per cooperative, and one line per product and live show after merging)
    order_ids = {key: id_ for kind, id_, key, _ in rows if kind == "order"}
    line_ids = {(key, livestream_id): id_ for kind, id_, key, livestream_id in rows if kind == "line"}
    placed.id = next(id_ for kind, id_, _, _ in rows if kind == "checkout")
    for order in placed.orders:
        order.id = order_ids[order.cooperative_id]
        for line in order.lines:
            line.id = line_ids[(line.product_id, line.livestream_id)]
    if len(order_ids) != len(placed.orders) or len(line_ids) != line_count:
        raise RuntimeError("the checkout's rows were not all written")  # (never: a guard against a bad edit)


def execute(connection, compiled: Compiled, params: dict) -> list[tuple]:
    """Run a compiled statement on the session's connection (see _execute); its rows."""
    return _execute(connection, compiled, params, commit=False)


def _execute(connection, compiled: Compiled, params: dict, commit: bool) -> list[tuple]:
    """Run the statement on the session's connection through psycopg, which SQLAlchemy
    cannot pipeline (it reads a result's columns as soon as it is sent). SQLAlchemy's
    cursor events still see it (statement counts, logs), and its errors come out as
    SQLAlchemy's (an OperationalError is the app's 503) with the connection invalidated
    when it broke. With `commit`, the transaction ends here: the session's own commit
    that follows finds nothing left to do."""
    values = {name: compiled.processors[name](value) if name in compiled.processors else value
              for name, value in params.items()}
    driver = connection.connection.driver_connection
    cursor = driver.cursor()
    connection.dispatch.before_cursor_execute(connection, cursor, compiled.sql, values, None, False)
    try:
        if commit and not driver.autocommit:  # (in autocommit the statement is its own transaction)
            with driver.pipeline():
                cursor.execute(compiled.sql, values)
                driver.commit()
        else:
            cursor.execute(compiled.sql, values)
        rows = cursor.fetchall()
    except psycopg.errors.RaiseException as err:
        if err.diag.message_hint == "refuse_checkout":
            raise Refused(err.diag.message_primary) from None
        raise _as_sqlalchemy(connection, compiled, values, err, cursor) from err
    except psycopg.Error as err:
        raise _as_sqlalchemy(connection, compiled, values, err, cursor) from err
    finally:
        cursor.close()
    connection.dispatch.after_cursor_execute(connection, cursor, compiled.sql, values, None, False)
    return rows


def _as_sqlalchemy(connection, compiled, values, err, cursor) -> DBAPIError:
    invalidated = connection.dialect.is_disconnect(err, connection.connection.dbapi_connection, cursor)
    if invalidated:
        connection.invalidate(err)
    return DBAPIError.instance(compiled.sql, values, err, psycopg.Error, connection_invalidated=invalidated,
                               dialect=connection.dialect)
