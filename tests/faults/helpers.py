"""What every fault test checks: money already taken stays as it was, and the database
holds only whole results (no checkout without its orders, no held units without a checkout)."""
from dataclasses import dataclass

from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.households.models import LedgerEntry
from marketplace.orders.models import BuyerProductCount, Checkout, Order, OrderLine
from tests.conftest import Factory
from tests.households.test_ledger import approved_link, household, paid_order


@dataclass
class MoneyWorld:
    coop_id: int
    product_id: int  #: on sale, with its own stock
    household_id: int


def money_world(make: Factory, stock=10, price_fen=2000) -> MoneyWorld:
    """A cooperative sharing 10% of its sales with a household, one product on sale,
    and one paid order already in the ledger: what a fault must never lose."""
    coop = make.coop()
    staff = make.staff()
    poor = household(staff, 1)
    db.session.commit()
    approved_link(make, coop, poor.id, share_bp=1000)
    paid_order(make, make.product(coop, price_fen=1500, stock=20), 2)
    product = make.product(coop, price_fen=price_fen, stock=stock)
    return MoneyWorld(coop.id, product.id, poor.id)


def money_taken() -> dict:
    """Paid orders and the household ledger: counted before a fault, compared after."""
    db.session.expire_all()
    return {"paid_orders": db.session.scalar(select(func.count()).select_from(Order).where(Order.paid_at.is_not(None))),
            "paid_fen": db.session.scalar(select(func.coalesce(func.sum(Order.subtotal_fen), 0))
                                          .where(Order.paid_at.is_not(None))),
            "ledger_entries": db.session.scalar(select(func.count()).select_from(LedgerEntry)),
            "ledger_fen": db.session.scalar(select(func.coalesce(func.sum(LedgerEntry.amount_fen), 0)))}


def units_held(product_id: int) -> dict:
    """Where a product's units went: sold in order lines, counted per buyer, in checkouts."""
    db.session.expire_all()
    return {"in_lines": db.session.scalar(select(func.coalesce(func.sum(OrderLine.quantity), 0))
                                          .where(OrderLine.product_id == product_id)),
            "held_by_buyers": db.session.scalar(select(func.coalesce(func.sum(BuyerProductCount.quantity), 0))
                                                .where(BuyerProductCount.product_id == product_id)),
            "checkouts": db.session.scalar(select(func.count(func.distinct(Checkout.id))).join(Order)
                                           .join(OrderLine).where(OrderLine.product_id == product_id))}
