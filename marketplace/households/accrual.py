"""Turning paid order lines into household accruals, and refunds into reversals.

Rounding rule: a share link accrues floor(line total x share_bp / 10000) fen; a
fixed link accrues fixed_fen_per_unit x quantity, capped at what is left of the
line after the links before it (in link id order). The cooperative retains the
rest, so accruals + retained = line total exactly and no accrual is negative.

A refund of part of a line reverses, for each accrual, the amount that brings it
to floor(accrued x (total - refunded) / total): cumulative, so a full refund
returns every balance to where it was. If the household was already paid out,
the part not covered by its balance is absorbed by the cooperative (recorded on
the entry as absorbed_fen), never clawed back.
"""
from datetime import date

from sqlalchemy import and_, func, or_, select

from ..core.db import utcnow
from ..extensions import db
from ..orders.events import order_paid, order_refunded
from . import ledger
from .income import LOCAL
from .models import BenefitLink, EntryKind, LedgerEntry, LinkStatus


def split(total_fen: int, quantity: int, links) -> list[tuple]:
    """[(link, amount_fen)] for one line; sum(amounts) <= total_fen, each >= 0."""
    left, out = total_fen, []
    for link in sorted(links, key=lambda k: k.id):
        wanted = total_fen * link.share_bp // 10000 if link.share_bp else link.fixed_fen_per_unit * quantity
        amount = min(wanted, left)
        left -= amount
        out.append((link, amount))
    return out


def current_links(cooperative_id: int, product_ids, on: date):
    """Approved links of the cooperative in force on `on`, for those products or the whole cooperative."""
    return db.session.scalars(select(BenefitLink).where(
        BenefitLink.cooperative_id == cooperative_id, BenefitLink.status == LinkStatus.approved,
        BenefitLink.valid_from <= on, or_(BenefitLink.valid_to.is_(None), BenefitLink.valid_to >= on),
        or_(BenefitLink.product_id.is_(None), BenefitLink.product_id.in_(list(product_ids))))).all()


def accrue_order(order, lines) -> list[LedgerEntry]:
    on = (order.paid_at or utcnow()).astimezone(LOCAL).date()  # link dates are China calendar dates
    links = current_links(order.cooperative_id, {line.product_id for line in lines}, on)
    entries = []
    for line in lines:
        applicable = [k for k in links if k.product_id in (None, line.product_id)]
        for link, amount in split(line.line_total_fen, line.quantity, applicable):
            if amount:
                entries.append(LedgerEntry(kind=EntryKind.accrual, household_id=link.household_id,
                                           cooperative_id=order.cooperative_id, amount_fen=amount,
                                           order_line_id=line.id, link_id=link.id, rate_bp=link.share_bp,
                                           fixed_fen_per_unit=link.fixed_fen_per_unit))
    return ledger.append(entries) if entries else []


def reverse_refund(order, refund) -> list[LedgerEntry]:
    lines = {line.id: line for line in order.lines}
    head, entries = None, []
    for item in refund.lines:
        line = lines[item["order_line_id"]]
        for link_id, household_id, accrued, reversed_ in _per_link(line.id):
            keep = accrued * (line.line_total_fen - line.refunded_fen) // line.line_total_fen
            due = (accrued - reversed_) - keep
            if due <= 0:
                continue
            head = head or ledger.lock_head()  # lock before reading balances: no payout can slip in
            owed = ledger.balance(household_id, order.cooperative_id) + sum(
                e.amount_fen for e in entries if e.household_id == household_id)
            taken = min(due, max(owed, 0))
            entries.append(LedgerEntry(kind=EntryKind.reversal, household_id=household_id,
                                       cooperative_id=order.cooperative_id, amount_fen=-taken,
                                       absorbed_fen=due - taken, order_line_id=line.id, link_id=link_id,
                                       refund_id=refund.id))
    return ledger.append(entries, head) if entries else []


def _per_link(order_line_id):
    """(link_id, household_id, accrued, reversed incl. absorbed) for one line."""
    accrued = func.sum(func.coalesce(LedgerEntry.amount_fen, 0)).filter(LedgerEntry.kind == EntryKind.accrual)
    reversed_ = func.sum(-LedgerEntry.amount_fen + LedgerEntry.absorbed_fen).filter(
        LedgerEntry.kind == EntryKind.reversal)
    rows = db.session.execute(select(LedgerEntry.link_id, LedgerEntry.household_id, accrued, reversed_).where(
        and_(LedgerEntry.order_line_id == order_line_id, LedgerEntry.link_id.is_not(None)))
        .group_by(LedgerEntry.link_id, LedgerEntry.household_id).order_by(LedgerEntry.link_id)).all()
    return [(r[0], r[1], r[2] or 0, r[3] or 0) for r in rows]


@order_paid.connect
def _on_order_paid(order, lines, **_):
    accrue_order(order, lines)


@order_refunded.connect
def _on_order_refunded(order, refund, **_):
    reverse_refund(order, refund)
