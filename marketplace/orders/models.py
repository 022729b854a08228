"""Carts, addresses, checkouts, orders (one per cooperative) and their lines.

A checkout is what the buyer pays once; it is split into one order per
cooperative. Lines freeze title, unit and unit price at the time of sale.
Stock is taken from products when the checkout is placed (the reservation) and
given back if it expires, is cancelled or its payment fails.
"""
import enum

from sqlalchemy import (JSON, CheckConstraint, ForeignKey, Index, Integer, String, Text,
                        UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.db import UTCDateTime, str_enum, utcnow
from ..core.money import DEFAULT_CURRENCY
from ..extensions import db


class OrderStatus(str, enum.Enum):
    pending_payment = "pending_payment"
    paid = "paid"
    shipped = "shipped"
    delivered = "delivered"
    cancelled = "cancelled"
    refunded = "refunded"
    partially_refunded = "partially_refunded"


class CheckoutStatus(str, enum.Enum):
    pending_payment = "pending_payment"
    paid = "paid"
    cancelled = "cancelled"  # by the buyer, or because the payment failed or the reservation expired


class Address(db.Model):
    __tablename__ = "addresses"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    phone: Mapped[str] = mapped_column(String(32))
    province: Mapped[str] = mapped_column(String(40))
    city: Mapped[str] = mapped_column(String(60))
    address: Mapped[str] = mapped_column(String(200))
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    def as_dict(self):
        return {k: getattr(self, k) for k in ("name", "phone", "province", "city", "address")}


class CartItem(db.Model):
    """A logged-in buyer's cart line. Anonymous carts live in the session."""

    __tablename__ = "cart_items"
    __table_args__ = (UniqueConstraint("user_id", "product_id"),
                      CheckConstraint("quantity > 0", name="quantity_positive"))

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    quantity: Mapped[int] = mapped_column(Integer)
    #: the price the buyer saw when adding, in fen: checkout says so if it changed
    seen_price_fen: Mapped[int] = mapped_column(Integer)
    added_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class Checkout(db.Model):
    __tablename__ = "checkouts"
    __table_args__ = (CheckConstraint("amount_fen > 0", name="amount_positive"),
                      Index("ix_checkouts_pending_expiry", "status", "expires_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    buyer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[CheckoutStatus] = mapped_column(str_enum(CheckoutStatus), default=CheckoutStatus.pending_payment)
    amount_fen: Mapped[int] = mapped_column(Integer)  #: the total the buyer pays, in fen
    currency: Mapped[str] = mapped_column(String(3), default=DEFAULT_CURRENCY)
    #: the stock reservation ends here unless paid
    expires_at = mapped_column(UTCDateTime, nullable=False)
    shipping_address = mapped_column(JSON, nullable=False)
    provider: Mapped[str] = mapped_column(String(16))  #: "demo" or "stripe"
    payment_intent_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    paid_at = mapped_column(UTCDateTime)
    cancelled_at = mapped_column(UTCDateTime)
    cancel_reason: Mapped[str | None] = mapped_column(String(40))

    orders = relationship("Order", back_populates="checkout", order_by="Order.id", lazy="selectin")


class Order(db.Model):
    __tablename__ = "orders"
    __table_args__ = (Index("ix_orders_coop_status", "cooperative_id", "status"),
                      Index("ix_orders_coop_paid_at", "cooperative_id", "paid_at"))  # desk, sales, reconciliation

    id: Mapped[int] = mapped_column(primary_key=True)
    checkout_id: Mapped[int] = mapped_column(ForeignKey("checkouts.id"), index=True)
    cooperative_id: Mapped[int] = mapped_column(ForeignKey("cooperatives.id"))
    buyer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[OrderStatus] = mapped_column(str_enum(OrderStatus), default=OrderStatus.pending_payment)
    subtotal_fen: Mapped[int] = mapped_column(Integer)  #: sum of the line totals, in fen
    refunded_fen: Mapped[int] = mapped_column(Integer, default=0)
    carrier: Mapped[str | None] = mapped_column(String(60))
    tracking_no: Mapped[str | None] = mapped_column(String(60))
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    paid_at = mapped_column(UTCDateTime)
    shipped_at = mapped_column(UTCDateTime)
    delivered_at = mapped_column(UTCDateTime)

    checkout = relationship("Checkout", back_populates="orders", lazy="joined")
    cooperative = relationship("Cooperative", lazy="joined")
    lines = relationship("OrderLine", back_populates="order", order_by="OrderLine.id", lazy="selectin")
    events = relationship("OrderEvent", order_by="OrderEvent.id", lazy="selectin")


class OrderLine(db.Model):
    __tablename__ = "order_lines"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),
                      CheckConstraint("refunded_quantity >= 0 AND refunded_quantity <= quantity",
                                      name="refunded_quantity_range"),
                      CheckConstraint("refunded_fen >= 0 AND refunded_fen <= line_total_fen",
                                      name="refunded_fen_range"))

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    livestream_id: Mapped[int | None] = mapped_column(Integer)  #: bought in this live show, at its price
    title: Mapped[str] = mapped_column(String(120))  #: frozen at the time of sale
    unit: Mapped[str] = mapped_column(String(40))
    unit_price_fen: Mapped[int] = mapped_column(Integer)
    quantity: Mapped[int] = mapped_column(Integer)
    line_total_fen: Mapped[int] = mapped_column(Integer)  #: unit_price_fen * quantity
    refunded_quantity: Mapped[int] = mapped_column(Integer, default=0)
    refunded_fen: Mapped[int] = mapped_column(Integer, default=0)

    order = relationship("Order", back_populates="lines")


class OrderEvent(db.Model):
    """The order's timeline, shown to the buyer and the cooperative."""

    __tablename__ = "order_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    status: Mapped[OrderStatus] = mapped_column(str_enum(OrderStatus))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class BuyerProductCount(db.Model):
    """Units of a product a buyer holds in live (not cancelled) orders, for per-buyer
    limits. Changed only by guarded single statements, like stock."""

    __tablename__ = "buyer_product_counts"
    __table_args__ = (UniqueConstraint("buyer_id", "product_id"),
                      CheckConstraint("quantity >= 0", name="quantity_not_negative"))

    id: Mapped[int] = mapped_column(primary_key=True)
    buyer_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    quantity: Mapped[int] = mapped_column(Integer, default=0)


class Refund(db.Model):
    __tablename__ = "refunds"
    __table_args__ = (CheckConstraint("amount_fen > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    amount_fen: Mapped[int] = mapped_column(Integer)
    #: [{"order_line_id", "quantity", "amount_fen"}]; an amount-only refund spreads over lines
    lines = mapped_column(JSON, nullable=False)
    restocked: Mapped[bool] = mapped_column(default=False)
    provider_refund_id: Mapped[str | None] = mapped_column(String(255))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(String(200), default="")
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
