"""The cart: in the session for visitors, in the database for buyers who are logged
in; the session cart merges into the account at login. Prices and stock are
re-checked at checkout; the cart only remembers the price the buyer saw."""
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select
from sqlalchemy.orm import joinedload

from ..catalog.models import Product
from ..catalog.services import visible_product
from ..core.errors import Invalid
from ..extensions import db
from .checkout import MAX_QUANTITY, WantedLine
from .models import CartItem

SESSION_KEY = "cart"


@dataclass
class CartRow:
    product: Product
    quantity: int
    seen_price_fen: int

    @property
    def price_changed(self):
        return self.product.price_fen != self.seen_price_fen

    @property
    def short_of_stock(self):
        return self.product.stock < self.quantity

    @property
    def total_fen(self):
        return self.product.price_fen * self.quantity


def _check_quantity(quantity) -> int:
    try:
        quantity = int(str(quantity).strip())
    except (TypeError, ValueError):
        quantity = 0
    if not 1 <= quantity <= MAX_QUANTITY:
        raise Invalid(_l("Quantities are whole numbers from 1 to %(n)d.", n=MAX_QUANTITY), code="invalid_quantity")
    return quantity


class Cart:
    """One interface over the two storages."""

    def __init__(self, user, session):
        self.user = user if getattr(user, "is_authenticated", False) else None
        self.session = session

    # raw storage: {product_id: (quantity, seen_price_fen)}
    def _items(self) -> dict:
        if self.user is None:
            return {int(k): tuple(v) for k, v in self.session.get(SESSION_KEY, {}).items()}
        rows = db.session.scalars(select(CartItem).where(CartItem.user_id == self.user.id)).all()
        return {r.product_id: (r.quantity, r.seen_price_fen) for r in rows}

    def _store(self, product_id, quantity, seen_price_fen) -> None:
        if self.user is None:
            items = dict(self.session.get(SESSION_KEY, {}))
            items[str(product_id)] = [quantity, seen_price_fen]
            self.session[SESSION_KEY] = items
            return
        row = db.session.scalar(select(CartItem).where(CartItem.user_id == self.user.id,
                                                       CartItem.product_id == product_id))
        if row is None:
            db.session.add(CartItem(user_id=self.user.id, product_id=product_id, quantity=quantity,
                                    seen_price_fen=seen_price_fen))
        else:
            row.quantity, row.seen_price_fen = quantity, seen_price_fen

    def add(self, product_id, quantity) -> Product:
        product = visible_product(product_id, None)
        quantity = _check_quantity(quantity)
        current = self._items().get(product.id, (0, product.price_fen))[0]
        self._store(product.id, min(current + quantity, MAX_QUANTITY), product.price_fen)
        return product

    def set_quantity(self, product_id, quantity) -> None:
        if product_id not in self._items():
            return
        product = db.session.get(Product, product_id)
        self._store(product_id, _check_quantity(quantity), product.price_fen)

    def remove(self, product_id) -> None:
        if self.user is None:
            items = dict(self.session.get(SESSION_KEY, {}))
            items.pop(str(product_id), None)
            self.session[SESSION_KEY] = items
        else:
            db.session.execute(delete(CartItem).where(CartItem.user_id == self.user.id,
                                                      CartItem.product_id == product_id))

    def clear(self, product_ids=None) -> None:
        for product_id in list(product_ids if product_ids is not None else self._items()):
            self.remove(product_id)

    def rows(self) -> list[CartRow]:
        items = self._items()
        if not items:
            return []
        products = db.session.scalars(select(Product).where(Product.id.in_(items))
                                      .options(joinedload(Product.cooperative))).all()
        return [CartRow(p, *items[p.id]) for p in sorted(products, key=lambda p: (p.cooperative_id, p.id))]

    def count(self) -> int:
        return sum(q for q, _ in self._items().values())

    def wanted(self) -> list[WantedLine]:
        return [WantedLine(product_id=pid, quantity=q, seen_price_fen=seen) for pid, (q, seen) in self._items().items()]


def merge_into_account(user, session_items: dict) -> None:
    """At login: the visitor's cart joins the account's (quantities add up)."""
    account = Cart(user, {})
    existing = account._items()
    for key, (quantity, seen) in (session_items or {}).items():
        product_id = int(key)
        if db.session.get(Product, product_id) is None:
            continue
        total = min(existing.get(product_id, (0, seen))[0] + int(quantity), MAX_QUANTITY)
        account._store(product_id, total, seen)
