"""The ledger: accruals when paid, exact reversals on refunds, payouts within the
balance, append-only in the database, and a hash chain that shows tampering."""
import os
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from marketplace.extensions import db
from marketplace.households import accrual, ledger
from marketplace.households.links import decide, propose
from marketplace.households.models import EntryKind, LedgerEntry
from marketplace.households.services import create_household, record_payout
from marketplace.households.identity import with_check_digit
from marketplace.orders.checkout import WantedLine, place_checkout
from marketplace.payments import services as payments
from tests.conftest import owner_of

ADDRESS = {"name": "Wang Fang", "phone": "13800000000", "province": "Beijing", "city": "Beijing",
           "address": "1 Chang'an Avenue"}


def household(staff, n=1):
    return create_household(staff, {
        "file_no": f"6104260{n:05d}", "head_name": f"Head {n}", "id_number": with_check_digit(f"61042619800101{n:03d}"),
        "province": "Shaanxi", "county": "Zhashui", "township": "Yingpan", "village": "Jinmi", "members": 4,
        "working_members": 2, "enrolled_at": "2020-01-01", "consent": True})


def approved_link(make, coop, household_id, **rule):
    staff = make.staff()
    link = propose(owner_of(coop), coop, {"household_id": household_id, "kind": "supplier",
                                          "valid_from": date(2020, 1, 1).isoformat(), **rule})
    decide(staff, link, approve=True)
    db.session.commit()
    return link


def paid_order(make, product, quantity):
    buyer = make.user()
    checkout = place_checkout(buyer, [WantedLine(product.id, quantity)], ADDRESS, "demo")
    payments.start_payment(checkout)
    payments.confirm_demo(buyer, checkout)
    db.session.commit()
    return checkout.orders[0]


def balances(coop_id):
    rows = db.session.execute(db.select(LedgerEntry.household_id, db.func.sum(LedgerEntry.amount_fen))
                              .where(LedgerEntry.cooperative_id == coop_id).group_by(LedgerEntry.household_id))
    return dict(rows.all())


@pytest.fixture
def setup(make):
    coop = make.coop()
    staff = make.staff()
    h1, h2 = household(staff, 1), household(staff, 2)
    db.session.commit()
    product = make.product(coop, price_fen=3333, stock=100)
    approved_link(make, coop, h1.id, share_bp=1500)  # 15%
    approved_link(make, coop, h2.id, product_id=product.id, fixed_fen_per_unit=100)
    return coop, product, h1, h2


def test_paid_line_accrues_with_the_rule_frozen_and_the_rest_retained(make, setup):
    coop, product, h1, h2 = setup
    order = paid_order(make, product, 3)  # line total 9999
    entries = db.session.scalars(db.select(LedgerEntry).order_by(LedgerEntry.seq)).all()
    assert [(e.household_id, e.amount_fen, e.rate_bp, e.fixed_fen_per_unit) for e in entries] == [
        (h1.id, 1499, 1500, None), (h2.id, 300, None, 100)]  # floor(9999 * 0.15) = 1499
    assert all(e.order_line_id == order.lines[0].id for e in entries)


def test_refunds_reverse_exactly_and_a_full_refund_restores_every_balance(make, setup):
    coop, product, h1, h2 = setup
    order = paid_order(make, product, 3)
    line = order.lines[0]
    payments.refund_order(owner_of(coop), order, lines=[{"order_line_id": line.id, "quantity": 1}])
    db.session.commit()
    assert balances(coop.id) == {h1.id: 1499 * 2 * 3333 // 9999, h2.id: 300 * 6666 // 9999}
    payments.refund_order(owner_of(coop), order, amount_fen=order.subtotal_fen - order.refunded_fen)
    db.session.commit()
    assert balances(coop.id) == {h1.id: 0, h2.id: 0}


def test_payout_within_balance_and_409_above_it(make, setup):
    coop, product, h1, _ = setup
    paid_order(make, product, 3)
    owner = owner_of(coop)
    record_payout(owner, coop, {"household_id": h1.id, "amount_fen": 1000, "method": "cash", "reference": "R1"})
    db.session.commit()
    with pytest.raises(Exception) as info:
        record_payout(owner, coop, {"household_id": h1.id, "amount_fen": 500, "method": "cash"})
    assert getattr(info.value, "code", None) == "exceeds_balance"
    db.session.rollback()
    assert ledger.balance(h1.id, coop.id) == 499


def test_refund_after_payout_never_claws_back(make, setup):
    coop, product, h1, _ = setup
    order = paid_order(make, product, 3)
    record_payout(owner_of(coop), coop, {"household_id": h1.id, "amount_fen": 1499, "method": "cash"})
    payments.refund_order(owner_of(coop), order, amount_fen=order.subtotal_fen)
    db.session.commit()
    assert ledger.balance(h1.id, coop.id) == 0
    reversal = db.session.scalar(db.select(LedgerEntry).where(LedgerEntry.kind == EntryKind.reversal,
                                                              LedgerEntry.household_id == h1.id))
    assert (reversal.amount_fen, reversal.absorbed_fen) == (0, 1499)


def test_the_database_refuses_updates_and_deletes(make, setup):
    coop, product, *_ = setup
    paid_order(make, product, 1)
    db.session.commit()  # the test's own transaction holds SQLite's write lock
    for sql in ("UPDATE ledger_entries SET amount_fen = 1", "DELETE FROM ledger_entries"):
        with pytest.raises(Exception, match="append-only"):
            with db.engine.begin() as conn:
                conn.execute(text(sql))


@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"), reason="PostgreSQL only: SQLite has no TRUNCATE")
def test_the_database_refuses_to_truncate_the_ledger(make, setup):
    coop, product, *_ = setup
    paid_order(make, product, 1)
    db.session.commit()
    for sql in ("TRUNCATE ledger_entries", "TRUNCATE households CASCADE"):
        with pytest.raises(Exception, match="append-only"):
            with db.engine.begin() as conn:
                conn.execute(text(sql))
    assert ledger.verify() == {"ok": True, "entries": 2}


def test_verify_finds_an_entry_edited_behind_the_applications_back(app, make, setup):
    coop, product, *_ = setup
    paid_order(make, product, 1)
    paid_order(make, product, 2)
    assert ledger.verify() == {"ok": True, "entries": 4}
    second = db.session.scalar(db.select(LedgerEntry.id).where(LedgerEntry.seq == 2))
    _tamper("UPDATE ledger_entries SET amount_fen = amount_fen + 100 WHERE seq = 2")
    assert ledger.verify() == {"ok": False, "entries": 1, "first_broken": {
        "id": second, "seq": 2, "problem": "content does not match its hash: the entry was edited"}}
    out = app.test_cli_runner().invoke(args=["ledger", "verify"])
    assert out.exit_code == 1 and f"entry id {second} (seq 2)" in out.output and "edited" in out.output


def test_verify_finds_a_deleted_entry(make, setup):
    coop, product, *_ = setup
    paid_order(make, product, 1)
    paid_order(make, product, 1)
    _tamper("DELETE FROM ledger_entries WHERE seq = 2")
    result = ledger.verify()
    assert not result["ok"] and result["first_broken"]["seq"] == 3


def _rehash_seq_3():
    """Edit entry 3 and give it a matching hash, as a forger who knows the rule would."""
    row = db.session.execute(db.select(*[getattr(LedgerEntry, n) for n in ledger.HASHED], LedgerEntry.prev_hash)
                             .where(LedgerEntry.seq == 3)).one()._asdict()
    row["amount_fen"] += 1
    return (f"UPDATE ledger_entries SET amount_fen = {row['amount_fen']}, "
            f"hash = '{ledger.entry_hash(row, row['prev_hash'])}' WHERE seq = 3")


TAMPERING = [  # (what was done, SQL, first broken seq, problem, good entries before it)
    ("an amount raised", lambda: "UPDATE ledger_entries SET amount_fen = amount_fen + 1 WHERE seq = 3", 3,
     "edited", 2),
    ("a reversal's absorbed part changed", lambda: "UPDATE ledger_entries SET absorbed_fen = 7 WHERE seq = 5", 5,
     "edited", 4),
    ("an edit with its own hash recomputed", _rehash_seq_3, 4, "does not follow the previous entry", 3),
    ("an entry deleted", lambda: "DELETE FROM ledger_entries WHERE seq = 4", 5, "deleted", 3),
    ("the newest entry deleted", lambda: "DELETE FROM ledger_entries WHERE seq = 6", 6, "missing at the end", 5),
]


@pytest.mark.parametrize("what,sql,seq,problem,good", TAMPERING, ids=[t[0] for t in TAMPERING])
def test_verify_names_the_first_tampered_entry_and_both_checks_agree(app, make, setup, what, sql, seq, problem,
                                                                     good):
    coop, product, *_ = setup
    for quantity in (1, 2, 3):
        paid_order(make, product, quantity)  # 6 entries, 2 per order
    _tamper(sql())
    result = ledger.verify()
    assert not result["ok"] and result["first_broken"]["seq"] == seq and problem in result["first_broken"]["problem"]
    assert result["entries"] == good
    # on PostgreSQL verify() runs in the database; the Python walk must find the same entry
    broken, checked, _ = ledger.verify_in_python()
    if broken is not None:
        assert (broken["seq"], broken["id"], ledger.PROBLEMS[broken["problem"]]) == (
            seq, result["first_broken"]["id"], result["first_broken"]["problem"])
    else:  # only the end is missing: the chain itself is whole
        assert checked == good and "missing at the end" in result["first_broken"]["problem"]
    out = app.test_cli_runner().invoke(args=["ledger", "verify"])
    assert out.exit_code == 1 and f"(seq {seq})" in out.output


@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"), reason="PostgreSQL only: a trigger bypass")
def test_an_owner_who_switches_the_triggers_off_is_still_caught(make, setup):
    """The database owner can edit past the append-only trigger without dropping it
    (session_replication_role = replica): the hash chain still names the entry."""
    coop, product, *_ = setup
    paid_order(make, product, 1)
    paid_order(make, product, 1)
    db.session.commit()
    with db.engine.begin() as conn:
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        assert conn.execute(text("UPDATE ledger_entries SET amount_fen = 1 WHERE seq = 3")).rowcount == 1
    result = ledger.verify()
    assert result["first_broken"]["seq"] == 3 and "edited" in result["first_broken"]["problem"]
    assert result["entries"] == 2


def test_verify_of_an_empty_and_of_a_whole_ledger(make, setup):
    assert ledger.verify() == {"ok": True, "entries": 0}
    coop, product, *_ = setup
    paid_order(make, product, 1)
    assert ledger.verify() == {"ok": True, "entries": 2}
    assert ledger.verify_in_python()[:2] == (None, 2)


def _tamper(sql):
    """Change the ledger as a database user could, with the triggers lifted."""
    db.session.commit()
    dialect = db.engine.dialect.name
    from marketplace.households.triggers import statements
    with db.engine.begin() as conn:
        for drop in statements(dialect, create=False):
            conn.execute(text(drop))
        conn.execute(text(sql))
        for create in statements(dialect, create=True):
            conn.execute(text(create))


class Link:
    def __init__(self, id, share_bp=None, fixed_fen_per_unit=None):
        self.id, self.share_bp, self.fixed_fen_per_unit = id, share_bp, fixed_fen_per_unit


rules = st.one_of(st.builds(lambda bp: ("share", bp), st.integers(1, 10000)),
                  st.builds(lambda fen: ("fixed", fen), st.integers(1, 100_000)))


@settings(max_examples=300, deadline=None)
@given(total=st.integers(1, 10_000_000), quantity=st.integers(1, 999), chosen=st.lists(rules, max_size=8))
def test_split_never_exceeds_the_total_and_is_never_negative(total, quantity, chosen):
    links, share_left = [], 10000
    for i, (kind, value) in enumerate(chosen):
        if kind == "share":
            value = min(value, share_left)
            if value == 0:
                continue
            share_left -= value
            links.append(Link(i, share_bp=value))
        else:
            links.append(Link(i, fixed_fen_per_unit=value))
    parts = accrual.split(total, quantity, links)
    amounts = [amount for _, amount in parts]
    retained = total - sum(amounts)
    assert all(a >= 0 for a in amounts) and retained >= 0
    assert sum(amounts) + retained == total
