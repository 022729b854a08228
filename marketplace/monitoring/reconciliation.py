"""Reconciliation of one cooperative's books for a period, with its discrepancies.

paid        order lines paid in the period (fen)
refunded    refunds made in the period
allocated   accruals minus reversals written in the period (the households' share)
retained    paid - refunded - allocated (the cooperative's share)
paid_out    payouts recorded in the period
owed        what the cooperative owes its households at the end of the period
"""
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select

from ..extensions import db
from ..households import ledger
from ..households.income import LOCAL
from ..households.models import BenefitLink, EntryKind, LedgerEntry, LinkStatus, Payout
from ..orders.models import Order, OrderLine, Refund

STALE_DAYS = 90


def _bounds(start: date, end: date):
    lo = datetime.combine(start, time.min, LOCAL)
    hi = datetime.combine(end + timedelta(days=1), time.min, LOCAL)
    return lo, hi


def _sum(column, *where):
    return int(db.session.scalar(select(func.coalesce(func.sum(column), 0)).where(*where)) or 0)


def figures(coop_id: int, start: date, end: date) -> dict:
    lo, hi = _bounds(start, end)
    in_period = (LedgerEntry.cooperative_id == coop_id, LedgerEntry.created_at >= lo, LedgerEntry.created_at < hi)
    paid = _sum(OrderLine.line_total_fen, OrderLine.order_id == Order.id, Order.cooperative_id == coop_id,
                Order.paid_at >= lo, Order.paid_at < hi)
    refunded = _sum(Refund.amount_fen, Refund.order_id == Order.id, Order.cooperative_id == coop_id,
                    Refund.created_at >= lo, Refund.created_at < hi)
    allocated = _sum(LedgerEntry.amount_fen, *in_period, LedgerEntry.kind.in_([EntryKind.accrual, EntryKind.reversal]))
    absorbed = _sum(LedgerEntry.absorbed_fen, *in_period, LedgerEntry.kind == EntryKind.reversal)
    paid_out = -_sum(LedgerEntry.amount_fen, *in_period, LedgerEntry.kind == EntryKind.payout)
    owed = _sum(LedgerEntry.amount_fen, LedgerEntry.cooperative_id == coop_id, LedgerEntry.created_at < hi)
    return {"cooperative_id": coop_id, "from": start.isoformat(), "to": end.isoformat(), "paid_fen": paid,
            "refunded_fen": refunded, "allocated_fen": allocated, "absorbed_fen": absorbed,
            "retained_fen": paid - refunded - allocated - absorbed, "paid_out_fen": paid_out, "owed_fen": owed}


def discrepancies(coop_id: int, start: date, end: date, today: date | None = None) -> list[dict]:
    lo, hi = _bounds(start, end)
    found = []
    unapproved = db.session.execute(select(LedgerEntry.id, LedgerEntry.household_id).outerjoin(
        BenefitLink, BenefitLink.id == LedgerEntry.link_id).where(
        LedgerEntry.cooperative_id == coop_id, LedgerEntry.kind == EntryKind.accrual,
        LedgerEntry.created_at >= lo, LedgerEntry.created_at < hi,
        (BenefitLink.id.is_(None)) | BenefitLink.status.notin_([LinkStatus.approved, LinkStatus.superseded]))).all()
    found += [{"kind": "accrual_without_approved_link", "entry_id": e, "household_id": h} for e, h in unapproved]
    no_ref = db.session.execute(select(Payout.id, Payout.household_id).where(
        Payout.cooperative_id == coop_id, Payout.created_at >= lo, Payout.created_at < hi,
        func.trim(Payout.reference) == "")).all()
    found += [{"kind": "payout_without_reference", "payout_id": p, "household_id": h} for p, h in no_ref]
    found += _stale_balances(coop_id, min(today or end, end), hi)
    found += _links_without_income(coop_id, start, end, lo, hi)
    chain = ledger.verify()
    if not chain["ok"]:
        found.append({"kind": "ledger_chain_break", **chain["first_broken"]})
    return found


def _stale_balances(coop_id, today, hi):
    """Households owed more (at the period's end) than they earned in the 90 days
    before it: part of the debt is older than 90 days."""
    cutoff = datetime.combine(today - timedelta(days=STALE_DAYS), time.min, LOCAL)
    recent = func.coalesce(func.sum(LedgerEntry.amount_fen).filter(
        LedgerEntry.kind == EntryKind.accrual, LedgerEntry.created_at >= cutoff), 0)
    rows = db.session.execute(select(LedgerEntry.household_id, func.sum(LedgerEntry.amount_fen), recent)
                              .where(LedgerEntry.cooperative_id == coop_id, LedgerEntry.created_at < hi)
                              .group_by(LedgerEntry.household_id)).all()
    return [{"kind": "owed_longer_than_90_days", "household_id": h, "owed_fen": int(owed),
             "older_than_90_days_fen": int(owed - fresh)} for h, owed, fresh in rows if owed > fresh]


def _links_without_income(coop_id, start, end, lo, hi):
    earned = select(LedgerEntry.link_id).where(LedgerEntry.kind == EntryKind.accrual, LedgerEntry.created_at >= lo,
                                               LedgerEntry.created_at < hi, LedgerEntry.link_id.is_not(None))
    rows = db.session.execute(select(BenefitLink.id, BenefitLink.household_id).where(
        BenefitLink.cooperative_id == coop_id, BenefitLink.status == LinkStatus.approved,
        BenefitLink.valid_from <= end, (BenefitLink.valid_to.is_(None)) | (BenefitLink.valid_to >= start),
        BenefitLink.id.notin_(earned))).all()
    return [{"kind": "link_without_income", "link_id": k, "household_id": h} for k, h in rows]


def reconcile(coop_id: int, start: date, end: date) -> dict:
    return {**figures(coop_id, start, end), "discrepancies": discrepancies(coop_id, start, end)}
