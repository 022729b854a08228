"""Products and their photos."""
import enum

from sqlalchemy import (Boolean, CheckConstraint, Date, Enum, ForeignKey, Index, Integer,
                        String, Text)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.db import UTCDateTime, utcnow
from ..core.money import DEFAULT_CURRENCY
from ..extensions import db


class ProductStatus(str, enum.Enum):
    draft = "draft"
    active = "active"
    archived = "archived"


class Product(db.Model):
    __tablename__ = "products"
    __table_args__ = (
        CheckConstraint("stock >= 0", name="stock_not_negative"),
        CheckConstraint("price_fen > 0", name="price_positive"),
        Index("ix_products_listing", "status", "surplus", "id"),
        Index("ix_products_coop_status", "cooperative_id", "status"),
        # and on PostgreSQL ix_products_coop_on_sale, made by migration 0011
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cooperative_id: Mapped[int] = mapped_column(ForeignKey("cooperatives.id"))
    title: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(32), index=True)
    origin: Mapped[str] = mapped_column(String(120), default="")
    unit: Mapped[str] = mapped_column(String(40))  #: what one unit is, e.g. "500 g bag"
    price_fen: Mapped[int] = mapped_column(Integer)  #: price of one unit, in fen
    currency: Mapped[str] = mapped_column(String(3), default=DEFAULT_CURRENCY)
    #: units on hand and not reserved; only ever changed by guarded single statements
    stock: Mapped[int] = mapped_column(Integer, default=0)
    #: most units one buyer may buy (None: no limit beyond stock)
    per_buyer_limit: Mapped[int | None] = mapped_column(Integer)
    harvest_date = mapped_column(Date)
    shelf_life_days: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[ProductStatus] = mapped_column(
        Enum(ProductStatus, native_enum=False, length=16), default=ProductStatus.draft)
    #: goods that failed to sell through the usual channels; shown first
    surplus: Mapped[bool] = mapped_column(Boolean, default=False)
    #: lower-cased title, description, origin: what `q` searches inside
    search_text: Mapped[str] = mapped_column(Text, default="")
    #: key of the first photo, kept here so listings need no extra query
    cover_key: Mapped[str | None] = mapped_column(String(64))
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False)

    cooperative = relationship("Cooperative", lazy="raise")
    images = relationship("ProductImage", order_by="ProductImage.position",
                          cascade="all, delete-orphan", lazy="raise")

    def refresh_search_text(self):
        self.search_text = " ".join([self.title or "", self.origin or "", self.description or ""]).lower()


class ProductImage(db.Model):
    __tablename__ = "product_images"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(64))
    position: Mapped[int] = mapped_column(Integer, default=0)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    alt: Mapped[str] = mapped_column(String(200), default="")
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
