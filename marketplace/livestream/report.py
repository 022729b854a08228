"""Who may see a show, and what a show earned: viewers, chat, orders, units, GMV,
conversion, per product, and the household income its paid lines accrued.

Sales count paid order lines bought in the show (order_lines.livestream_id): a
line counts once its order was paid (paid_at set), even if it was refunded
later; refunds are reported beside GMV. Household income is the sum of ledger
accruals and reversals on those lines, so a refund lowers it."""
import hashlib
import logging

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from ..coops.services import membership_of, staff_covers
from ..core.errors import NotFound
from ..extensions import db
from ..households.models import EntryKind, Household, LedgerEntry
from ..orders.models import Order, OrderLine
from .models import ChatMessage, Show, ShowViewer
from .services import get_show

log = logging.getLogger("marketplace.livestream")


def _get(show_id) -> Show:
    if not isinstance(show_id, int) or not 0 < show_id < 2**31:  # (PostgreSQL integers end there)
        raise NotFound(_l("No such show."))
    return get_show(show_id)


def visible_show(show_id, viewer=None) -> Show:
    """A show everyone sees when its cooperative is verified; otherwise its members and the
    staff of its county (as its draft products: catalog.services.may_view)."""
    show = _get(show_id)
    if not may_view(show.cooperative_id, show.cooperative.county, show.cooperative.is_public, viewer):
        raise NotFound(_l("No such show."))
    return show


def may_view(cooperative_id: int, county: str, public: bool, viewer=None) -> bool:
    """visible_show's rule from the cooperative's id, county and whether it is verified, for
    a caller that did not load the show (the event stream, which a crowd opens at once)."""
    if public:
        return True
    membership = getattr(viewer, "membership", None) if getattr(viewer, "is_authenticated", False) else None
    return bool((membership and membership.cooperative_id == cooperative_id) or staff_covers(viewer, county))


def report_show(show_id, viewer) -> Show:
    """The report is for the cooperative's members and the staff of its county; others get 404."""
    show = _get(show_id)
    if not may_see_report(show, viewer):
        raise NotFound(_l("No such show."))
    return show


def may_see_report(show, viewer) -> bool:
    return bool(membership_of(viewer, show.cooperative) or staff_covers(viewer, show.cooperative.county))


def viewer_key(user=None, session_key=None, remote="", agent="") -> str:
    """The key of one distinct viewer: the account, else the browser session, else address + browser."""
    if user is not None and getattr(user, "is_authenticated", False):
        return f"u:{user.id}"
    if session_key:
        return f"s:{str(session_key)[:60]}"
    return "a:" + hashlib.sha256(f"{remote}|{agent}".encode()).hexdigest()[:40]


def note_viewers(show_id: int, count: int) -> None:
    """Raise the show's peak viewers to `count` if it is higher (one guarded UPDATE past the
    storefront's change hooks, see audience.py; best effort)."""
    from .audience import raise_peak

    try:
        raise_peak(show_id, count)
    except Exception:  # noqa: BLE001 - a busy database must not break the room
        log.warning("could not update the peak viewers of show %s", show_id, exc_info=True)


def _paid_lines(show_id):
    return (select(OrderLine, Order).join(Order, Order.id == OrderLine.order_id)
            .where(OrderLine.livestream_id == show_id, Order.paid_at.is_not(None)))


def show_report(show: Show) -> dict:
    rows = db.session.execute(_paid_lines(show.id).order_by(OrderLine.id)).all()
    households = household_income(show.id)
    income = sum(h["income_fen"] for h in households)
    unique = db.session.scalar(select(func.count()).select_from(ShowViewer).where(ShowViewer.show_id == show.id))
    chats = db.session.scalar(select(func.count()).select_from(ChatMessage).where(ChatMessage.show_id == show.id))
    buyers = {order.buyer_id for _line, order in rows}
    items = {item.product_id: item for item in show.items}
    products = {}
    for pid, item in items.items():
        products[pid] = {"product_id": pid, "title": item.product.title, "live_price_fen": item.live_price_fen,
                         "quota": item.quota, "sold": item.sold, "orders": set(), "units": 0, "gmv_fen": 0,
                         "refunded_fen": 0}
    for line, order in rows:
        row = products.setdefault(line.product_id, {
            "product_id": line.product_id, "title": line.title, "live_price_fen": None, "quota": None,
            "sold": None, "orders": set(), "units": 0, "gmv_fen": 0, "refunded_fen": 0})
        row["orders"].add(order.id)
        row["units"] += line.quantity
        row["gmv_fen"] += line.line_total_fen
        row["refunded_fen"] += line.refunded_fen
    per_product = [{**r, "orders": len(r["orders"])} for r in products.values()]
    return {
        "show_id": show.id, "title": show.title, "status": show.status.value,
        "peak_viewers": show.peak_viewers, "unique_viewers": unique, "chat_messages": chats,
        "orders": len({order.id for _line, order in rows}), "buyers": len(buyers),
        "units": sum(line.quantity for line, _order in rows),
        "gmv_fen": sum(line.line_total_fen for line, _order in rows),
        "refunded_fen": sum(line.refunded_fen for line, _order in rows),
        "conversion": round(len(buyers) / unique, 4) if unique else None,
        "household_income_fen": int(income),
        "products": per_product,
        "households": households,
    }


def household_income(show_id: int) -> list[dict]:
    """What the show's paid lines accrued to each household (after reversals), most
    first; households by their registration file number and village, not by name."""
    line_ids = select(OrderLine.id).join(Order, Order.id == OrderLine.order_id).where(
        OrderLine.livestream_id == show_id, Order.paid_at.is_not(None))
    total = func.sum(LedgerEntry.amount_fen)
    rows = db.session.execute(
        select(Household.id, Household.file_no, Household.village, total)
        .join(LedgerEntry, LedgerEntry.household_id == Household.id)
        .where(LedgerEntry.order_line_id.in_(line_ids), LedgerEntry.kind.in_([EntryKind.accrual, EntryKind.reversal]))
        .group_by(Household.id, Household.file_no, Household.village)
        .order_by(total.desc(), Household.id)).all()
    return [{"household_id": hid, "file_no": file_no, "village": village, "income_fen": int(amount or 0)}
            for hid, file_no, village, amount in rows]


def show_lines(show_id: int, limit: int = 100) -> list[dict]:
    """The newest order lines bought in the show (any status), for the host console."""
    from ..auth.models import User

    rows = db.session.execute(select(OrderLine, Order, User.display_name).join(Order, Order.id == OrderLine.order_id)
                              .join(User, User.id == Order.buyer_id).where(OrderLine.livestream_id == show_id)
                              .order_by(OrderLine.id.desc()).limit(limit)).all()
    return [{"line_id": line.id, "order_id": order.id, "buyer": name, "title": line.title,
             "quantity": line.quantity, "unit_price_fen": line.unit_price_fen,
             "line_total_fen": line.line_total_fen, "status": order.status.value,
             "created_at": order.created_at.isoformat()} for line, order, name in rows]

