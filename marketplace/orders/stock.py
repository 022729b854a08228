"""Stock and per-buyer counts change only through these guarded single statements.

`UPDATE products SET stock = stock - n WHERE id = ? AND stock >= n` either takes
all n units or none, whatever other transactions do at the same moment, on
SQLite and PostgreSQL alike; the CHECK (stock >= 0) constraint backs it up.
(On PostgreSQL a one-line checkout runs the same two guarded statements inside its
one `WITH` statement: orders/placing_pg.py.)

The statements a checkout runs are built once per process (functools.cache) and
run with parameters: building a SQLAlchemy statement costs more Python time than
running a compiled one, and a flash sale runs them for every buyer. They go through
the session (not its connection), so catalog.changes sees the products change.
"""
from functools import cache

from sqlalchemy import bindparam, text, update

from ..catalog.models import Product, ProductStatus
from ..extensions import db
from .models import BuyerProductCount


@cache
def _take():
    p = Product.__table__.c
    return (update(Product.__table__)
            .where(p.id == bindparam("product_id"), p.stock >= bindparam("quantity"),
                   p.status == ProductStatus.active)
            .values(stock=p.stock - bindparam("quantity")))


def take_stock(product_id: int, quantity: int) -> bool:
    """Reserve `quantity` units of an active product; False when there are not enough."""
    return db.session.execute(_take(), {"product_id": product_id, "quantity": quantity}).rowcount == 1


def return_stock(product_id: int, quantity: int) -> None:
    db.session.execute(update(Product).where(Product.id == product_id)
                       .values(stock=Product.stock + quantity).execution_options(synchronize_session=False))


#: Adds to the buyer's units, and with :limit only while the new total stays within it.
#: The same SQL on PostgreSQL and SQLite (3.35+); written as text because SQLAlchemy
#: cannot cache a compiled INSERT .. ON CONFLICT and would compile it for every buyer.
_COUNT = """INSERT INTO buyer_product_counts (buyer_id, product_id, quantity) VALUES (:buyer_id, :product_id, :quantity)
ON CONFLICT (buyer_id, product_id) DO UPDATE SET quantity = buyer_product_counts.quantity + excluded.quantity{guard}
RETURNING id"""


@cache
def _count(limited: bool):
    guard = "\nWHERE buyer_product_counts.quantity + excluded.quantity <= :limit" if limited else ""
    return text(_COUNT.format(guard=guard))


def count_for_buyer(buyer_id: int, product_id: int, quantity: int, limit: int | None) -> bool:
    """Add to the units this buyer holds of the product, refusing to pass `limit`."""
    if limit is not None and quantity > limit:
        return False
    params = {"buyer_id": buyer_id, "product_id": product_id, "quantity": quantity}
    if limit is not None:
        params["limit"] = limit
    # RETURNING, not rowcount: psycopg reports -1 for INSERT .. ON CONFLICT .. RETURNING
    return db.session.execute(_count(limit is not None), params).first() is not None


def uncount_for_buyer(buyer_id: int, product_id: int, quantity: int) -> None:
    db.session.execute(update(BuyerProductCount).where(
        BuyerProductCount.buyer_id == buyer_id, BuyerProductCount.product_id == product_id,
        BuyerProductCount.quantity >= quantity).values(quantity=BuyerProductCount.quantity - quantity)
        .execution_options(synchronize_session=False))


def give_back_units(order, line, quantity: int) -> None:
    """Units of a line that will not be delivered (cancelled, expired, refunded before
    shipping) go back where they came from: the live quota while its show runs,
    otherwise the product's stock."""
    from .pricing import give_back_live

    if not give_back_live(line, quantity):
        return_stock(line.product_id, quantity)
    if not line.livestream_id:
        uncount_for_buyer(order.buyer_id, line.product_id, quantity)
