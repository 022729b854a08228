"""Property-based tests of the ledger against the real services (hypothesis).

Each example builds its own cooperative, product, households and approved links, so
examples never see each other's balances (the ledger is append-only: nothing is
deleted between examples; the tables are emptied between tests by conftest).

- For any valid set of links and any sequence of partial refunds of a paid line,
  no link is ever reversed by more than it accrued, what is left accrued follows the
  documented rounding rule, and refunding the rest brings every balance back to 0.
- Any sequence of payments, refunds and payouts keeps every balance >= 0, refuses a
  payout above the balance without writing anything, and leaves a chain that verifies.
"""
import itertools
from datetime import date, timedelta

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from marketplace.core.errors import Conflict, DomainError
from marketplace.extensions import db
from marketplace.households import ledger
from marketplace.households.identity import with_check_digit
from marketplace.households.links import decide, propose
from marketplace.households.models import EntryKind, LedgerEntry
from marketplace.households.services import create_household, record_payout
from marketplace.payments import services as payments
from tests.conftest import owner_of
from tests.households.test_ledger import paid_order

SETTINGS = dict(deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
NUMBERS = itertools.count(1)

#: a link rule: (share basis points or None, fixed fen per unit or None, scoped to the product?)
rule = st.one_of(st.tuples(st.integers(1, 6000), st.none(), st.booleans()),
                 st.tuples(st.none(), st.integers(1, 5000), st.booleans()))


def _household(staff):
    n = next(NUMBERS)
    born = date(1950, 1, 1) + timedelta(days=n // 1000)
    return create_household(staff, {
        "file_no": f"61042680{n:06d}", "head_name": f"Head {n}", "province": "Shaanxi", "county": "Zhashui",
        "id_number": with_check_digit(f"610426{born:%Y%m%d}{n % 1000:03d}"), "township": "Yingpan",
        "village": "Jinmi", "members": 1 + n % 5, "working_members": 1, "enrolled_at": "2020-01-01"})


def fresh_world(make, rules, price_fen):
    """A new cooperative and product, one household per rule, each with an approved
    link (shares kept to at most 100% in total)."""
    staff = make.staff()
    coop = make.coop()
    owner = owner_of(coop)
    product = make.product(coop, price_fen=price_fen, stock=1_000_000)
    households, share_left = [], 10000
    for share_bp, fixed, scoped in rules:
        if share_bp is not None:
            share_bp = min(share_bp, share_left)
            if share_bp == 0:
                continue
            share_left -= share_bp
        h = _household(staff)
        link = propose(owner, coop, {"household_id": h.id, "kind": "supplier", "share_bp": share_bp,
                                     "fixed_fen_per_unit": fixed, "product_id": product.id if scoped else None,
                                     "valid_from": "2020-01-01"})
        decide(staff, link, approve=True)
        households.append(h)
    db.session.commit()
    return coop, owner, product, households


def per_link(coop_id):
    """{link_id: (accrued, reversed incl. absorbed)} for the cooperative's entries."""
    rows = db.session.execute(select(
        LedgerEntry.link_id,
        func.coalesce(func.sum(LedgerEntry.amount_fen).filter(LedgerEntry.kind == EntryKind.accrual), 0),
        func.coalesce(func.sum(LedgerEntry.absorbed_fen - LedgerEntry.amount_fen)
                      .filter(LedgerEntry.kind == EntryKind.reversal), 0))
        .where(LedgerEntry.cooperative_id == coop_id, LedgerEntry.link_id.is_not(None))
        .group_by(LedgerEntry.link_id)).all()
    return {link_id: (int(accrued), int(reversed_)) for link_id, accrued, reversed_ in rows}


def entries_are_well_signed(coop_id):
    for kind, amount, absorbed in db.session.execute(select(
            LedgerEntry.kind, LedgerEntry.amount_fen, LedgerEntry.absorbed_fen)
            .where(LedgerEntry.cooperative_id == coop_id)):
        assert absorbed >= 0 and (amount >= 0 if kind == EntryKind.accrual else amount <= 0), (kind, amount)


def assert_balances_not_negative(coop, households):
    for h in households:
        assert ledger.balance(h.id, coop.id) >= 0, h.id


refund_step = st.one_of(st.tuples(st.just("amount"), st.integers(1, 999)),  # per mille of what is left
                        st.tuples(st.just("units"), st.integers(1, 20)))


@settings(max_examples=30, **SETTINGS)
@given(rules=st.lists(rule, min_size=1, max_size=3), price=st.integers(1, 50_000), quantity=st.integers(1, 20),
       steps=st.lists(refund_step, max_size=4))
def test_partial_refunds_never_reverse_more_than_accrued_and_a_full_refund_restores(make, rules, price, quantity,
                                                                                  steps):
    coop, owner, product, households = fresh_world(make, rules, price)
    order = paid_order(make, product, quantity)
    line = order.lines[0]
    accrued = {k: a for k, (a, _) in per_link(coop.id).items()}
    assert sum(accrued.values()) <= line.line_total_fen
    for kind, value in steps:
        left = order.subtotal_fen - order.refunded_fen
        units = line.quantity - line.refunded_quantity
        if not left:
            break
        if kind == "amount":
            payments.refund_order(owner, order, amount_fen=max(1, left * value // 1000))
        elif units:
            payments.refund_order(owner, order, lines=[{"order_line_id": line.id, "quantity": min(value, units)}])
        db.session.commit()
        for link_id, (got, reversed_) in per_link(coop.id).items():
            assert 0 <= reversed_ <= got == accrued[link_id]
            # the documented rule: what stays accrued is floor(accrued x unrefunded / total)
            assert got - reversed_ == got * (line.line_total_fen - line.refunded_fen) // line.line_total_fen
        entries_are_well_signed(coop.id)
        assert_balances_not_negative(coop, households)
    left = order.subtotal_fen - order.refunded_fen
    if left:
        payments.refund_order(owner, order, amount_fen=left)
        db.session.commit()
    assert all(reversed_ == got for got, reversed_ in per_link(coop.id).values())
    assert [ledger.balance(h.id, coop.id) for h in households] == [0] * len(households)


operation = st.one_of(
    st.tuples(st.just("buy"), st.integers(1, 6)),
    st.tuples(st.just("refund"), st.integers(0, 9), st.integers(1, 1000)),  # which order, per mille left (1000: all)
    # whom, per mille of the balance: mostly within it, sometimes above it
    st.tuples(st.just("payout"), st.integers(0, 2), st.one_of(st.integers(1, 1000), st.integers(1001, 1500))),
)


def _refund(owner, orders, which, per_mille):
    if not orders:
        return
    order = orders[which % len(orders)]
    left = order.subtotal_fen - order.refunded_fen
    before = db.session.scalar(select(func.count()).select_from(LedgerEntry))
    try:
        payments.refund_order(owner, order, amount_fen=max(1, left * per_mille // 1000))
        db.session.commit()
        assert left > 0
        event("refund")
    except DomainError:  # a refund of a fully refunded order: refused, nothing written
        db.session.rollback()
        assert left == 0
        event("refund refused")
        assert db.session.scalar(select(func.count()).select_from(LedgerEntry)) == before


def _payout(owner, coop, households, whom, per_mille):
    h = households[whom % len(households)]
    owed = ledger.balance(h.id, coop.id)
    amount = max(1, owed * per_mille // 1000)
    try:
        record_payout(owner, coop, {"household_id": h.id, "amount_fen": amount, "method": "cash"})
        db.session.commit()
        assert amount <= owed
        event("payout")
    except Conflict as refused:
        db.session.rollback()
        assert refused.code == "exceeds_balance" and amount > owed
        event("payout refused")
        assert ledger.balance(h.id, coop.id) == owed


@settings(max_examples=30, **SETTINGS)
@given(rules=st.lists(rule, min_size=1, max_size=3), price=st.integers(1, 20_000), first=st.integers(1, 6),
       operations=st.lists(operation, min_size=1, max_size=10))
def test_any_sequence_of_payments_refunds_and_payouts_keeps_every_balance_non_negative(make, rules, price, first,
                                                                                       operations):
    coop, owner, product, households = fresh_world(make, rules, price)
    orders = []
    for op in [("buy", first)] + operations:
        if op[0] == "buy":
            orders.append(paid_order(make, product, op[1]))
        elif op[0] == "refund":
            _refund(owner, orders, op[1], op[2])
        elif households:
            _payout(owner, coop, households, op[1], op[2])
        assert_balances_not_negative(coop, households)
        entries_are_well_signed(coop.id)
        for got, reversed_ in per_link(coop.id).values():
            assert 0 <= reversed_ <= got
    if db.session.scalar(select(func.max(LedgerEntry.absorbed_fen)).where(LedgerEntry.cooperative_id == coop.id)):
        event("a refund after a payout: the cooperative absorbed part of the reversal")
    assert ledger.verify()["ok"]
