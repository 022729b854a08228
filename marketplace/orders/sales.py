"""Read-side queries for the cooperative: the order desk's filtered list, its CSV
rows, and the sales dashboard's figures.

Aggregates are SQL GROUP BYs in the database. Days are local dates in
Asia/Shanghai, the cooperatives' clock, whatever the database's own time zone.
"""
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import String, and_, case, distinct, exists, func, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.functions import FunctionElement

from ..core.db import utcnow
from ..extensions import db
from .models import Checkout, Order, OrderLine, OrderStatus

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
NEW_WITHIN = timedelta(hours=24)
#: unshipped orders in these statuses still need a parcel
TO_SHIP = (OrderStatus.paid, OrderStatus.partially_refunded)
TABS = ("new", "to_ship", "shipped", "all")
PERIODS = (7, 30, 90)


class local_date(FunctionElement):
    """The Asia/Shanghai calendar date of a UTC timestamp column, as 'YYYY-MM-DD'.

    Rendered per dialect with the zone written inline (not as a bind parameter),
    so PostgreSQL accepts the same expression in SELECT and GROUP BY."""

    type = String()
    inherit_cache = True
    name = "local_date"


@compiles(local_date)
def _local_date_pg(element, compiler, **kw):
    return "to_char(timezone('Asia/Shanghai', %s), 'YYYY-MM-DD')" % compiler.process(element.clauses, **kw)


@compiles(local_date, "sqlite")
def _local_date_sqlite(element, compiler, **kw):
    # SQLite stores our timestamps as naive UTC text and has no zone database;
    # China has had no daylight saving time since 1991, so a fixed +8 h is exact.
    return "date(%s, '+8 hours')" % compiler.process(element.clauses, **kw)


def local_midnight(day: date) -> datetime:
    """The UTC instant at which `day` begins in Asia/Shanghai."""
    return datetime.combine(day, time(), LOCAL_TZ)


def local_today(now=None) -> date:
    return (now or utcnow()).astimezone(LOCAL_TZ).date()


# --- the order desk -----------------------------------------------------------

@dataclass
class DeskFilter:
    tab: str = "to_ship"
    date_from: date | None = None  #: placed on or after this local date
    date_to: date | None = None  #: placed on or before this local date
    q: str = ""  #: an order number, or part of a product title or the recipient's name


def _unshipped():
    return and_(Order.shipped_at.is_(None), Order.status.in_(TO_SHIP))


def _new(now):
    return and_(_unshipped(), Order.paid_at >= now - NEW_WITHIN)


def _text_match(q: str):
    # aliases, so the subqueries keep their own FROM when the outer query joins lines or checkouts
    line, checkout = aliased(OrderLine), aliased(Checkout)
    matches = [exists().where(line.order_id == Order.id, line.title.icontains(q, autoescape=True)),
               exists().where(checkout.id == Order.checkout_id,
                              checkout.shipping_address["name"].as_string().icontains(q, autoescape=True))]
    number = q.lstrip("#")
    if number.isdigit() and len(number) <= 9:  # longer is no order number (and overflows SQLite)
        matches.append(Order.id == int(number))
    return or_(*matches)


def desk_filter(stmt, coop_id: int, f: DeskFilter, now=None):
    """Restrict a SELECT that has `orders` in its FROM to the desk's tab and
    filters, in the tab's order. Only paid orders: unpaid ones are not sales yet."""
    now = now or utcnow()
    stmt = stmt.where(Order.cooperative_id == coop_id, Order.paid_at.is_not(None))
    if f.tab == "new":
        stmt = stmt.where(_new(now)).order_by(Order.paid_at.desc(), Order.id.desc())
    elif f.tab == "to_ship":  # oldest first: they have waited longest
        stmt = stmt.where(_unshipped()).order_by(Order.paid_at, Order.id)
    elif f.tab == "shipped":
        stmt = stmt.where(Order.shipped_at.is_not(None)).order_by(Order.shipped_at.desc(), Order.id.desc())
    else:
        stmt = stmt.order_by(Order.id.desc())
    if f.date_from:
        stmt = stmt.where(Order.created_at >= local_midnight(f.date_from))
    if f.date_to:
        stmt = stmt.where(Order.created_at < local_midnight(f.date_to + timedelta(days=1)))
    if f.q:
        stmt = stmt.where(_text_match(f.q))
    return stmt


def desk_page(coop_id: int, f: DeskFilter, page: int, per_page: int):
    """(orders on this page, how many match in all)."""
    stmt = desk_filter(select(Order), coop_id, f)
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    orders = db.session.scalars(stmt.limit(per_page).offset((page - 1) * per_page)).all()
    return orders, total


def tab_counts(coop_id: int, now=None) -> dict:
    """How many orders each tab holds (without the filters), in one query."""
    now = now or utcnow()
    row = db.session.execute(select(
        func.coalesce(func.sum(case((_new(now), 1), else_=0)), 0),
        func.coalesce(func.sum(case((_unshipped(), 1), else_=0)), 0),
        func.coalesce(func.sum(case((Order.shipped_at.is_not(None), 1), else_=0)), 0),
        func.count()).where(Order.cooperative_id == coop_id, Order.paid_at.is_not(None))).one()
    return dict(zip(TABS, (int(n) for n in row)))


def export_rows(coop_id: int, f: DeskFilter, limit: int) -> list:
    """One row per order line (at most `limit`): the CSV export."""
    stmt = (select(Order.id, Order.created_at, Order.status, Checkout.shipping_address, OrderLine.title,
                   OrderLine.quantity, OrderLine.unit_price_fen, OrderLine.line_total_fen, Order.carrier,
                   Order.tracking_no)
            .select_from(Order).join(Checkout, Checkout.id == Order.checkout_id)
            .join(OrderLine, OrderLine.order_id == Order.id))
    return db.session.execute(desk_filter(stmt, coop_id, f).order_by(OrderLine.id).limit(limit)).all()


# --- the sales dashboard ------------------------------------------------------

@dataclass
class Figures:
    """Orders, net units and money over some slice of paid orders."""

    label: str = ""
    orders: int = 0
    units: int = 0  #: sold minus refunded units
    paid_fen: int = 0
    refunded_fen: int = 0

    @property
    def revenue_fen(self) -> int:
        return self.paid_fen - self.refunded_fen


@dataclass
class SalesReport:
    days: int
    first_day: date
    last_day: date
    per_day: list = field(default_factory=list)  #: one Figures per local day, oldest first, zeros included
    per_product: list = field(default_factory=list)  #: Figures by product, best revenue first
    total: Figures = field(default_factory=Figures)


def _figure_columns():
    return (func.count(distinct(Order.id)), func.sum(OrderLine.quantity - OrderLine.refunded_quantity),
            func.sum(OrderLine.line_total_fen), func.sum(OrderLine.refunded_fen))


def _paid_lines(coop_id, start, end):
    """Lines of the cooperative's orders paid in [start, end). Revenue is counted on
    the day of payment; refunds made later reduce that day's figure."""
    return (select().select_from(Order).join(OrderLine, OrderLine.order_id == Order.id)
            .where(Order.cooperative_id == coop_id, Order.paid_at >= start, Order.paid_at < end))


def _figures(label, row) -> Figures:
    orders, units, paid, refunded = (int(v or 0) for v in row)
    return Figures(label, orders, units, paid, refunded)


def sales_report(coop_id: int, days: int, now=None) -> SalesReport:
    """Figures for the last `days` local days (today included). Always two queries."""
    last = local_today(now)
    first = last - timedelta(days=days - 1)
    start, end = local_midnight(first), local_midnight(last + timedelta(days=1))
    day = local_date(Order.paid_at)
    by_day = {row[0]: _figures(row[0], row[1:]) for row in db.session.execute(
        _paid_lines(coop_id, start, end).add_columns(day, *_figure_columns()).group_by(day))}
    revenue = func.sum(OrderLine.line_total_fen - OrderLine.refunded_fen)
    per_product = [_figures(row[0], row[1:]) for row in db.session.execute(
        _paid_lines(coop_id, start, end).add_columns(func.max(OrderLine.title), *_figure_columns())
        .group_by(OrderLine.product_id).order_by(revenue.desc(), OrderLine.product_id))]
    report = SalesReport(days, first, last, per_product=per_product)
    for n in range(days):  # at most 90 days: filling the gaps in Python is cheap
        label = (first + timedelta(days=n)).isoformat()
        report.per_day.append(by_day.get(label, Figures(label)))
    report.total = Figures(
        "", *(sum(getattr(d, name) for d in report.per_day) for name in ("orders", "units", "paid_fen",
                                                                         "refunded_fen")))
    return report
