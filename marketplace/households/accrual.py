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


def accrue_orders(paid) -> int:
    """Append the accrual entries of paid orders, given as [(order, lines)], in one
    batch: one query for the links in force, one lock of the chain head, multi-row
    INSERTs. The payment event calls it with its one order (in the payment's own
    transaction); a bulk import or the benchmark with thousands. Returns the
    number of entries appended."""
    now = utcnow()
    dated = [(order, lines, (order.paid_at or now).astimezone(LOCAL).date())  # link dates are China dates
             for order, lines in paid]
    links = _links_by_scope(dated)
    rows = []
    for order, lines, day in dated:
        for line in lines:
            applicable = _applicable(links, order.cooperative_id, line.product_id, day)
            for link, amount in split(line.line_total_fen, line.quantity, applicable):
                if amount:
                    rows.append({"kind": EntryKind.accrual, "household_id": link.household_id,
                                 "cooperative_id": order.cooperative_id, "amount_fen": amount,
                                 "order_line_id": line.id, "link_id": link.id, "rate_bp": link.share_bp,
                                 "fixed_fen_per_unit": link.fixed_fen_per_unit, "refund_id": None,
                                 "absorbed_fen": 0, "payout_id": None, "created_at": now})
    return ledger.append_rows(rows) if rows else 0


def _links_by_scope(dated) -> dict:
    """{(cooperative_id, product_id or None): [link rows]}: the approved links that may
    apply to these orders (their cooperatives and products, the span of their days)."""
    if not dated:
        return {}
    coop_ids = {order.cooperative_id for order, _, _ in dated}
    product_ids = {line.product_id for _, lines, _ in dated for line in lines}
    first, last = min(day for *_, day in dated), max(day for *_, day in dated)
    rows = db.session.execute(select(
        BenefitLink.id, BenefitLink.cooperative_id, BenefitLink.product_id, BenefitLink.household_id,
        BenefitLink.share_bp, BenefitLink.fixed_fen_per_unit, BenefitLink.valid_from, BenefitLink.valid_to)
        .where(BenefitLink.cooperative_id.in_(coop_ids), BenefitLink.status == LinkStatus.approved,
               BenefitLink.valid_from <= last, or_(BenefitLink.valid_to.is_(None), BenefitLink.valid_to >= first),
               or_(BenefitLink.product_id.is_(None), BenefitLink.product_id.in_(product_ids)))
        .order_by(BenefitLink.id))
    out = {}
    for row in rows:
        out.setdefault((row.cooperative_id, row.product_id), []).append(row)
    return out


def _applicable(links, cooperative_id, product_id, day) -> list:
    """Links in force on `day` for this product or the whole cooperative (split sorts them)."""
    found = links.get((cooperative_id, None), []) + links.get((cooperative_id, product_id), [])
    return [k for k in found if k.valid_from <= day and (k.valid_to is None or k.valid_to >= day)]


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
    accrue_orders([(order, lines)])


@order_refunded.connect
def _on_order_refunded(order, refund, **_):
    reverse_refund(order, refund)
