"""What buyers may see of the households' income: public aggregates by county and
month (the /impact page), the share line on a product page, and the amount an
order returned to households.

Income is what households earned (accrual and reversal entries), as in
income.py. Nothing here names a household or shows its identity, and counties
where fewer than MIN_HOUSEHOLDS households were reached are pooled as "other",
so a figure never belongs to one or two recognisable families.
"""
from datetime import date, datetime
from decimal import Decimal

from flask import Blueprint, render_template
from flask_babel import format_decimal
from sqlalchemy import String, case, distinct, func, select, tuple_
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from ..extensions import db
from ..orders.models import OrderLine
from .income import LOCAL, months
from .models import EntryKind, Household, LedgerEntry

MIN_HOUSEHOLDS = 3
INCOME = (EntryKind.accrual, EntryKind.reversal)
OTHER = ""  #: the group key of pooled counties (a real county name is never empty)

bp = Blueprint("impact", __name__, url_prefix="/impact")


@bp.app_template_filter("bp_percent")
def bp_percent(basis_points) -> str:
    """1250 -> '12.5' (in the page's locale): basis points as a percent number."""
    return format_decimal(Decimal(basis_points or 0) / 100)


class local_month(FunctionElement):
    """'YYYY-MM' of a UTC timestamp in Asia/Shanghai, computed in the database so
    the page costs the same few queries however many entries there are."""

    type = String()
    inherit_cache = True
    name = "local_month"


@compiles(local_month)
def _local_month_pg(element, compiler, **kw):
    return "to_char(timezone('Asia/Shanghai', %s), 'YYYY-MM')" % compiler.process(element.clauses, **kw)


@compiles(local_month, "sqlite")
def _local_month_sqlite(element, compiler, **kw):
    # SQLite keeps naive UTC text; China has no daylight saving time, so +8 h is exact
    return "strftime('%%Y-%%m', %s, '+8 hours')" % compiler.process(element.clauses, **kw)


def _figures(*group_by):
    """income, households reached (with an accrual), orders reached, per group."""
    accrued = LedgerEntry.kind == EntryKind.accrual
    return (select(*group_by, func.coalesce(func.sum(LedgerEntry.amount_fen), 0),
                   func.count(distinct(case((accrued, LedgerEntry.household_id)))),
                   func.count(distinct(case((accrued, OrderLine.order_id)))))
            .select_from(LedgerEntry).join(OrderLine, OrderLine.id == LedgerEntry.order_line_id)
            .where(LedgerEntry.kind.in_(INCOME)))


def _row(label, row, **extra) -> dict:
    return {"label": label, "income_fen": int(row[-3] or 0), "households": row[-2], "orders": row[-1], **extra}


def _small_counties() -> list[tuple]:
    """(province, county) pairs that reached fewer than MIN_HOUSEHOLDS households."""
    rows = db.session.execute(
        select(Household.province, Household.county, func.count(distinct(LedgerEntry.household_id)))
        .select_from(LedgerEntry).join(Household, Household.id == LedgerEntry.household_id)
        .where(LedgerEntry.kind == EntryKind.accrual).group_by(Household.province, Household.county))
    return [(p, c) for p, c, n in rows if n < MIN_HOUSEHOLDS]


def by_county() -> list[dict]:
    """Largest income first; the pooled "other" group last (label None)."""
    small = _small_counties()
    pooled = tuple_(Household.province, Household.county).in_(small) if small else None
    province = case((pooled, OTHER), else_=Household.province) if small else Household.province
    county = case((pooled, OTHER), else_=Household.county) if small else Household.county
    rows = db.session.execute(_figures(province.label("p"), county.label("c"))
                              .join(Household, Household.id == LedgerEntry.household_id)
                              .group_by(province, county)).all()
    out = [_row(None, row, province=None) if row[1] == OTHER else _row(row[1], row, province=row[0])
           for row in rows]
    return sorted(out, key=lambda r: (r["label"] is None, -r["income_fen"], r["label"] or ""))


def by_month(today: date | None = None, count: int = 12) -> list[dict]:
    """The last `count` months, oldest first, empty months included."""
    today = today or datetime.now(LOCAL).date()
    index = today.year * 12 + today.month - 1 - (count - 1)
    first = date(index // 12, index % 12 + 1, 1)
    start = datetime.combine(first, datetime.min.time(), LOCAL)
    month = local_month(LedgerEntry.created_at)
    rows = {r[0]: r for r in db.session.execute(
        _figures(month).where(LedgerEntry.created_at >= start).group_by(month))}
    return [_row(m, rows[m]) if m in rows else {"label": m, "income_fen": 0, "households": 0, "orders": 0}
            for m in months(first, today)]


def totals() -> dict:
    row = db.session.execute(_figures()).one()
    return _row(None, row)


@bp.get("")
def index():
    return render_template("impact/index.html", totals=totals(), counties=by_county(), months=by_month(),
                           min_households=MIN_HOUSEHOLDS)


# --- buyer-facing helpers for the product and order pages ----------------------

def share_line(figures) -> dict | None:
    """What the product page says goes to households, from households.links.share_in_force's
    (basis points, households, fixed fen per unit): the % share of links in force, the fixed
    yuan per unit (which is not a %, so it is shown apart) and how many households. None
    when no household is linked."""
    share_bp, households, fixed_fen = figures
    if not households:
        return None
    return {"share_bp": share_bp, "percent": bp_percent(share_bp), "fixed_fen": fixed_fen,
            "households": households}


def returned_by_order(order) -> int:
    """Fen this order returned to households so far: accruals less refund reversals."""
    return int(db.session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount_fen), 0)).select_from(LedgerEntry)
        .join(OrderLine, OrderLine.id == LedgerEntry.order_line_id)
        .where(OrderLine.order_id == order.id, LedgerEntry.kind.in_(INCOME))) or 0)
