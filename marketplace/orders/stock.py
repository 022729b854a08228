"""Stock and per-buyer counts change only through these guarded single statements.

`UPDATE products SET stock = stock - n WHERE id = ? AND stock >= n` either takes
all n units or none, whatever other transactions do at the same moment, on
SQLite and PostgreSQL alike; the CHECK (stock >= 0) constraint backs it up.
"""
from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ..catalog.models import Product, ProductStatus
from ..extensions import db
from .models import BuyerProductCount


def take_stock(product_id: int, quantity: int) -> bool:
    """Reserve `quantity` units of an active product; False when there are not enough."""
    result = db.session.execute(
        update(Product)
        .where(Product.id == product_id, Product.stock >= quantity, Product.status == ProductStatus.active)
        .values(stock=Product.stock - quantity)
        .execution_options(synchronize_session=False))
    return result.rowcount == 1


def return_stock(product_id: int, quantity: int) -> None:
    db.session.execute(update(Product).where(Product.id == product_id)
                       .values(stock=Product.stock + quantity).execution_options(synchronize_session=False))


def count_for_buyer(buyer_id: int, product_id: int, quantity: int, limit: int | None) -> bool:
    """Add to the units this buyer holds of the product, refusing to pass `limit`."""
    if limit is not None and quantity > limit:
        return False
    insert = pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    table = BuyerProductCount.__table__
    stmt = insert(table).values(buyer_id=buyer_id, product_id=product_id, quantity=quantity)
    new_total = table.c.quantity + stmt.excluded.quantity
    stmt = stmt.on_conflict_do_update(
        index_elements=["buyer_id", "product_id"], set_={"quantity": new_total},
        where=(new_total <= limit) if limit is not None else None).returning(table.c.id)
    # RETURNING, not rowcount: psycopg reports -1 for INSERT .. ON CONFLICT .. RETURNING
    return db.session.execute(stmt).first() is not None


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
