"""What a product card shows, read as plain rows instead of ORM objects.

Listing pages (catalog, search, home) show each product only as a card. Loading
24 full Product objects with their Cooperative cost more than rendering the page:
every column (descriptions, search text, the cooperative's story) was sent, and
each row became two tracked ORM objects. A Card holds just the columns the
product_card macro (templates/macros.html) and the "Next" cursor (search.KEYSET)
use, with the same attribute names, so templates read it like a Product.
"""
from typing import NamedTuple

from sqlalchemy import select

from ..coops.models import Cooperative
from .models import Product

#: the product's columns a card shows or a cursor sorts by; Card's fields, in order
CARD_COLUMNS = (Product.id, Product.cooperative_id, Product.title, Product.unit, Product.price_fen,
                Product.currency, Product.stock, Product.surplus, Product.cover_key, Product.updated_at)
COOP_COLUMNS = (Cooperative.id, Cooperative.name, Cooperative.province)


class CardCooperative(NamedTuple):
    id: int
    name: str
    province: str


class Card(NamedTuple):
    id: int
    cooperative_id: int
    title: str
    unit: str
    price_fen: int
    currency: str
    stock: int
    surplus: bool
    cover_key: str | None
    updated_at: object
    cooperative: CardCooperative


_SPLIT = len(CARD_COLUMNS)


def card_from_row(row) -> Card:
    """A row of CARD_COLUMNS + COOP_COLUMNS as a Card."""
    return Card(*row[:_SPLIT], CardCooperative(*row[_SPLIT:]))


def card_select():
    """SELECT of the card columns, products joined to their cooperative (no filter yet)."""
    return select(*CARD_COLUMNS, *COOP_COLUMNS).join_from(Product, Cooperative, Product.cooperative)


def read_cards(session, stmt, params=None) -> list[Card]:
    """The Cards of a card_select() statement.

    Run on the session's connection (its transaction), not through Session.execute: the
    statement selects plain columns, so the ORM's execution layer (compile state, ORM
    result, events for writes) adds nothing but ~0.13 ms of CPU a statement. Pending
    changes are flushed first, as Session.execute's autoflush would."""
    if session.autoflush:
        session.flush()
    return [card_from_row(row) for row in session.connection().execute(stmt, params)]
