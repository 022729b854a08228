"""Reconciliation of one cooperative's books for a period, with its discrepancies and
the figures of each household: what the audit page, its exports and the API show.

paid        order lines paid in the period (fen)
refunded    refunds made in the period
allocated   accruals minus reversals written in the period (the households' share)
absorbed    reversals the cooperative absorbed (the household had been paid already)
retained    paid - refunded - allocated - absorbed (the cooperative's share)
paid_out    payouts recorded in the period
owed        what the cooperative owes its households at the end of the period

Discrepancies: accruals in the period without an approved link, payouts without a
reference, households owed money for longer than 90 days, approved links whose
household got nothing in the period, and breaks of the ledger's hash chain among the
cooperative's entries of the period (monitoring/chain.py; the whole chain is what
`flask ledger verify` checks).

The ledger is read once: one GROUP BY per (household, link) gives every ledger figure,
the household rows, the stale balances and which links earned and which accruals had
no approved link. With the sales query, the payouts, the links and the chain check,
that is five or six statements whatever the number of lines.
"""
from datetime import date, datetime, time, timedelta

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import aliased

from ..extensions import db
from ..households.income import LOCAL
from ..households.models import BenefitLink, EntryKind, Household, LedgerEntry, LinkStatus, Payout
from ..orders.models import Order, OrderLine, Refund
from . import chain

STALE_DAYS = 90
GOOD_LINK = (LinkStatus.approved, LinkStatus.superseded)  #: a superseded version was approved when it applied
LEDGER_FIGURES = ("allocated_fen", "absorbed_fen", "paid_out_fen", "owed_fen")


def _bounds(start: date, end: date):
    lo = datetime.combine(start, time.min, LOCAL)
    hi = datetime.combine(end + timedelta(days=1), time.min, LOCAL)
    return lo, hi


def _sales(coop_id, lo, hi) -> tuple[int, int]:
    """(paid, refunded) in the period, in one round trip."""
    paid = (select(func.coalesce(func.sum(OrderLine.line_total_fen), 0)).join(Order, Order.id == OrderLine.order_id)
            .where(Order.cooperative_id == coop_id, Order.paid_at >= lo, Order.paid_at < hi).scalar_subquery())
    refunded = (select(func.coalesce(func.sum(Refund.amount_fen), 0)).join(Order, Order.id == Refund.order_id)
                .where(Order.cooperative_id == coop_id, Refund.created_at >= lo, Refund.created_at < hi)
                .scalar_subquery())
    row = db.session.execute(select(paid, refunded)).one()
    return int(row[0]), int(row[1])


def _ledger_groups(coop_id, lo, hi, stale_cutoff):
    """One row per (household, link) with the cooperative's entries up to the period's end."""
    e, good = LedgerEntry, aliased(BenefitLink)
    in_period = e.created_at >= lo
    total = func.coalesce(func.sum(e.amount_fen), 0)
    groups = (select(
        e.household_id, e.link_id,
        func.sum(e.amount_fen).filter(in_period, e.kind.in_([EntryKind.accrual, EntryKind.reversal]))
        .label("allocated"),
        func.sum(e.absorbed_fen).filter(in_period, e.kind == EntryKind.reversal).label("absorbed"),
        func.sum(e.amount_fen).filter(in_period, e.kind == EntryKind.payout).label("payouts"),
        total.label("owed"),
        func.sum(e.amount_fen).filter(e.kind == EntryKind.accrual, e.created_at >= stale_cutoff).label("recent"),
        func.count().filter(in_period, e.kind == EntryKind.accrual).label("accruals"),
        func.max(good.id).label("approved_link"))
        .outerjoin(good, and_(good.id == e.link_id, good.cooperative_id == coop_id, good.status.in_(GOOD_LINK)))
        .where(e.cooperative_id == coop_id, e.created_at < hi)
        .group_by(e.household_id, e.link_id).subquery())
    return db.session.execute(select(groups, Household.file_no, Household.county, Household.village)
                              .join(Household, Household.id == groups.c.household_id)).all()


def _households(groups) -> list[dict]:
    """Per household, by file number: allocated and paid out in the period, owed at its
    end, and what it earned in the 90 days before the end (for stale balances)."""
    rows = {}
    for g in groups:
        row = rows.setdefault(g.household_id, {
            "household_id": g.household_id, "file_no": g.file_no, "county": g.county, "village": g.village,
            "allocated_fen": 0, "absorbed_fen": 0, "paid_out_fen": 0, "owed_fen": 0, "recent_fen": 0})
        row["allocated_fen"] += int(g.allocated or 0)
        row["absorbed_fen"] += int(g.absorbed or 0)
        row["paid_out_fen"] -= int(g.payouts or 0)
        row["owed_fen"] += int(g.owed or 0)
        row["recent_fen"] += int(g.recent or 0)
    return sorted(rows.values(), key=lambda r: r["file_no"])


def _unapproved_accruals(coop_id, lo, hi, groups) -> list[dict]:
    """Accruals of the period without an approved link: the groups say whether any exist;
    only then are their entries looked up."""
    bad = [g for g in groups if g.accruals and g.approved_link is None]
    if not bad:
        return []
    e = LedgerEntry
    which = [e.link_id.in_([g.link_id for g in bad if g.link_id is not None])]
    if any(g.link_id is None for g in bad):
        which.append(e.link_id.is_(None))
    rows = db.session.execute(select(e.id, e.household_id).where(
        e.cooperative_id == coop_id, e.kind == EntryKind.accrual, e.created_at >= lo, e.created_at < hi,
        or_(*which)).order_by(e.seq)).all()
    return [{"kind": "accrual_without_approved_link", "entry_id": i, "household_id": h} for i, h in rows]


def _payouts_without_reference(coop_id, lo, hi) -> list[dict]:
    rows = db.session.execute(select(Payout.id, Payout.household_id).where(
        Payout.cooperative_id == coop_id, Payout.created_at >= lo, Payout.created_at < hi,
        func.trim(Payout.reference) == "").order_by(Payout.id)).all()
    return [{"kind": "payout_without_reference", "payout_id": p, "household_id": h} for p, h in rows]


def _stale_balances(households) -> list[dict]:
    """Households owed more at the period's end than they earned in the 90 days before
    it: part of what they are owed is older than 90 days."""
    return [{"kind": "owed_longer_than_90_days", "household_id": r["household_id"], "owed_fen": r["owed_fen"],
             "older_than_90_days_fen": r["owed_fen"] - r["recent_fen"]}
            for r in sorted(households, key=lambda r: r["household_id"]) if r["owed_fen"] > r["recent_fen"]]


def _links_without_income(coop_id, start, end, groups) -> list[dict]:
    earned = {g.link_id for g in groups if g.accruals and g.link_id is not None}
    rows = db.session.execute(select(BenefitLink.id, BenefitLink.household_id).where(
        BenefitLink.cooperative_id == coop_id, BenefitLink.status == LinkStatus.approved,
        BenefitLink.valid_from <= end, or_(BenefitLink.valid_to.is_(None), BenefitLink.valid_to >= start))
        .order_by(BenefitLink.id)).all()
    return [{"kind": "link_without_income", "link_id": k, "household_id": h} for k, h in rows if k not in earned]


def reconcile(coop_id: int, start: date, end: date, today: date | None = None) -> dict:
    """The figures (see the module's doc), "discrepancies" and "households" (rows with
    allocated, paid out and owed; only households with something to show)."""
    lo, hi = _bounds(start, end)
    stale_day = min(today or end, end) - timedelta(days=STALE_DAYS)
    paid, refunded = _sales(coop_id, lo, hi)
    groups = _ledger_groups(coop_id, lo, hi, datetime.combine(stale_day, time.min, LOCAL))
    households = _households(groups)
    totals = {key: sum(r[key] for r in households) for key in LEDGER_FIGURES}
    found = (_unapproved_accruals(coop_id, lo, hi, groups) + _payouts_without_reference(coop_id, lo, hi)
             + _stale_balances(households) + _links_without_income(coop_id, start, end, groups)
             + chain.breaks(coop_id, lo, hi))
    shown = [{k: v for k, v in r.items() if k not in ("recent_fen", "absorbed_fen")} for r in households
             if r["allocated_fen"] or r["paid_out_fen"] or r["owed_fen"]]
    return {"cooperative_id": coop_id, "from": start.isoformat(), "to": end.isoformat(), "paid_fen": paid,
            "refunded_fen": refunded, **totals,
            "retained_fen": paid - refunded - totals["allocated_fen"] - totals["absorbed_fen"],
            "discrepancies": found, "households": shown}
