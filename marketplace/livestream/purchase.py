"""Buying in a live show: the live price and quota are honoured only while the show
is live (status live and before its scheduled end); afterwards the regular price."""
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update

from ..core.db import utcnow
from ..core.errors import Conflict
from ..extensions import db
from ..orders.models import Order, OrderLine, OrderStatus
from ..orders.pricing import register_live_source
from .events import emit, stock_data
from .models import LineupItem, Show, ShowStatus


def _live_item(show_id, product_id):
    show = db.session.get(Show, show_id)
    now = utcnow()
    if show is None or show.status != ShowStatus.live or not (show.starts_at - _early() <= now < show.ends_at):
        return None, None
    item = db.session.scalar(select(LineupItem).where(LineupItem.show_id == show.id,
                                                      LineupItem.product_id == product_id))
    return show, item


def _early():
    from .services import EARLY_START
    return EARLY_START


class LiveSource:
    def take(self, buyer, wanted, product) -> int | None:
        show, item = _live_item(wanted.livestream_id, product.id)
        if item is None:
            return None
        taken = db.session.execute(update(LineupItem).where(
            LineupItem.id == item.id, LineupItem.sold + wanted.quantity <= LineupItem.quota)
            .values(sold=LineupItem.sold + wanted.quantity).execution_options(synchronize_session=False)).rowcount
        if not taken:
            return None  # the live quota is gone: the regular price
        if item.per_buyer_limit and _bought(buyer.id, show.id, product.id) + wanted.quantity > item.per_buyer_limit:
            raise Conflict(_l("In this show you can buy at most %(n)d of “%(title)s”.", n=item.per_buyer_limit,
                              title=product.title), code="per_buyer_limit")
        db.session.refresh(item)
        emit(show, "stock", stock_data(item))
        return item.live_price_fen

    def give_back(self, line, quantity) -> bool:
        show, item = _live_item(line.livestream_id, line.product_id)
        if item is None:
            return False
        back = db.session.execute(update(LineupItem).where(LineupItem.id == item.id, LineupItem.sold >= quantity)
                                  .values(sold=LineupItem.sold - quantity)
                                  .execution_options(synchronize_session=False)).rowcount
        if back:
            db.session.refresh(item)
            emit(show, "stock", stock_data(item))
        return bool(back)


def _bought(buyer_id, show_id, product_id) -> int:
    """Units this buyer already holds from this show (the guarded quota update above
    has locked the lineup row, so concurrent purchases by the same buyer queue up)."""
    return db.session.scalar(select(func.coalesce(func.sum(OrderLine.quantity), 0)).join(Order).where(
        OrderLine.livestream_id == show_id, OrderLine.product_id == product_id, Order.buyer_id == buyer_id,
        Order.status != OrderStatus.cancelled))


register_live_source(LiveSource())
