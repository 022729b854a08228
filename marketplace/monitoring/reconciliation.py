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
household got nothing in the period, and breaks of the ledger's hash chain
(monitoring/chain.py: the latest full verification's, and the cooperative's entries
written since).

The ledger is read once: one GROUP BY (household, link, kind, in the period or not,
in the last 90 days or not) of plain sums, folded here into every ledger figure, the
household rows, the stale balances, which links earned and which accruals had no
approved link. With the sales, the links, the households' names, the payouts and the
chain, that is seven statements whatever the number of lines.
"""
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, or_, select

from ..extensions import db
from ..households.income import LOCAL
from ..households.models import BenefitLink, EntryKind, Household, LedgerEntry, LinkStatus, Payout
from ..orders.models import Order, OrderLine, Refund
from . import chain

STALE_DAYS = 90
GOOD_LINK = (LinkStatus.approved, LinkStatus.superseded)  #: a superseded version was approved when it applied
LEDGER_FIGURES = ("allocated_fen", "absorbed_fen", "paid_out_fen", "owed_fen")
BATCH = 5000


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
    """Sums of the cooperative's entries up to the period's end, per household, link,
    kind, in the period or before, and in the last 90 days or before."""
    e = LedgerEntry
    rows = (select(e.household_id, e.link_id, e.kind, e.amount_fen, e.absorbed_fen,
                   (e.created_at >= lo).label("in_period"), (e.created_at >= stale_cutoff).label("recent"))
            .where(e.cooperative_id == coop_id, e.created_at < hi).subquery())
    keys = (rows.c.household_id, rows.c.link_id, rows.c.kind, rows.c.in_period, rows.c.recent)
    return db.session.execute(select(*keys, func.sum(rows.c.amount_fen).label("fen"),
                                     func.sum(rows.c.absorbed_fen).label("absorbed"), func.count().label("n"))
                              .group_by(*keys)).all()


def _names(household_ids) -> dict:
    """{household_id: (file_no, county, village)}."""
    ids, out = sorted(household_ids), {}
    for i in range(0, len(ids), BATCH):
        out.update((h, (f, c, v)) for h, f, c, v in db.session.execute(select(
            Household.id, Household.file_no, Household.county, Household.village)
            .where(Household.id.in_(ids[i:i + BATCH]))))
    return out


def _households(groups) -> list[dict]:
    """Per household, by file number: allocated and paid out in the period, owed at its
    end, and what it earned in the 90 days before the end (for stale balances)."""
    rows = {}
    for g in groups:
        row = rows.setdefault(g.household_id, {
            "household_id": g.household_id, "allocated_fen": 0, "absorbed_fen": 0, "paid_out_fen": 0,
            "owed_fen": 0, "recent_fen": 0})
        fen = int(g.fen or 0)
        row["owed_fen"] += fen
        if g.kind == EntryKind.accrual and g.recent:
            row["recent_fen"] += fen
        if not g.in_period:
            continue
        if g.kind == EntryKind.payout:
            row["paid_out_fen"] -= fen
        else:
            row["allocated_fen"] += fen
        if g.kind == EntryKind.reversal:
            row["absorbed_fen"] += int(g.absorbed or 0)
    names = _names(rows)
    for h, row in rows.items():
        row["file_no"], row["county"], row["village"] = names.get(h, ("", "", ""))
    return sorted(rows.values(), key=lambda r: r["file_no"])


def _earning(groups) -> list:
    """The groups of accruals written in the period."""
    return [g for g in groups if g.in_period and g.kind == EntryKind.accrual and g.n]


def _unapproved_accruals(coop_id, lo, hi, groups, links) -> list[dict]:
    """Accruals of the period without an approved link: the groups say whether any exist;
    only then are their entries looked up."""
    good = {link.id for link in links if link.status in GOOD_LINK}
    bad = {g.link_id for g in _earning(groups) if g.link_id not in good}
    if not bad:
        return []
    e = LedgerEntry
    which = [e.link_id.in_([k for k in bad if k is not None])]
    if None in bad:
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


def _links(coop_id):
    return db.session.execute(select(BenefitLink.id, BenefitLink.household_id, BenefitLink.status,
                                     BenefitLink.valid_from, BenefitLink.valid_to)
                              .where(BenefitLink.cooperative_id == coop_id).order_by(BenefitLink.id)).all()


def _links_without_income(start, end, groups, links) -> list[dict]:
    earned = {g.link_id for g in _earning(groups)}
    return [{"kind": "link_without_income", "link_id": link.id, "household_id": link.household_id}
            for link in links if link.status == LinkStatus.approved and link.id not in earned
            and link.valid_from <= end and (link.valid_to is None or link.valid_to >= start)]


def reconcile(coop_id: int, start: date, end: date, today: date | None = None) -> dict:
    """The figures (see the module's doc), "discrepancies", "households" (rows with
    allocated, paid out and owed; only households with something to show) and "ledger"
    (when the whole chain was last verified, and how many entries that covered)."""
    lo, hi = _bounds(start, end)
    stale_day = min(today or end, end) - timedelta(days=STALE_DAYS)
    paid, refunded = _sales(coop_id, lo, hi)
    groups = _ledger_groups(coop_id, lo, hi, datetime.combine(stale_day, time.min, LOCAL))
    links = _links(coop_id)
    households = _households(groups)
    totals = {key: sum(r[key] for r in households) for key in LEDGER_FIGURES}
    chained = chain.check(coop_id, lo, hi)
    found = (_unapproved_accruals(coop_id, lo, hi, groups, links) + _payouts_without_reference(coop_id, lo, hi)
             + _stale_balances(households) + _links_without_income(start, end, groups, links) + chained["breaks"])
    shown = [{k: v for k, v in r.items() if k not in ("recent_fen", "absorbed_fen")} for r in households
             if r["allocated_fen"] or r["paid_out_fen"] or r["owed_fen"]]
    return {"cooperative_id": coop_id, "from": start.isoformat(), "to": end.isoformat(), "paid_fen": paid,
            "refunded_fen": refunded, **totals,
            "retained_fen": paid - refunded - totals["allocated_fen"] - totals["absorbed_fen"],
            "discrepancies": found, "households": shown,
            "ledger": {"verified_at": chained["verified_at"], "verified_entries": chained["verified_entries"]}}
