"""The reconciliation's figures and each kind of discrepancy it claims to find, planted
one at a time: an accrual without an approved link, a balance owed for more than 90
days, an approved link whose household got nothing, and a ledger entry edited or
deleted behind the application's back (the chain check, in SQL on PostgreSQL and in
Python on SQLite, must agree with ledger.entry_hash), before or after the latest full
verification of the chain. The statements it runs do not grow with the number of lines."""
from datetime import timedelta
from types import SimpleNamespace

import pytest

from marketplace.core.db import utcnow
from marketplace.extensions import db
from marketplace.households import ledger
from marketplace.households.income import LOCAL
from marketplace.households.models import EntryKind, LedgerEntry
from marketplace.households.services import record_payout
from marketplace.monitoring import chain, reconciliation
from tests.conftest import PG_URL, main_html, owner_of
from tests.households.test_ledger import _tamper, approved_link, household, paid_order
from tests.monitoring.test_records import assign
from tests.monitoring.test_views import client_for


def today():
    return utcnow().astimezone(LOCAL).date()


def reconcile(books, days=1):
    return reconciliation.reconcile(books.coop.id, today() - timedelta(days=days), today())


def kinds(result):
    return [d["kind"] for d in result["discrepancies"]]


@pytest.fixture
def books(make):
    """Household h gets 10 % of each 1,000-fen line: 3 paid lines, one payout of 100 with a reference."""
    staff = make.staff()
    h = household(staff, 1)
    db.session.commit()
    coop = make.coop()
    product = make.product(coop, price_fen=1000, stock=500)
    link = approved_link(make, coop, h.id, share_bp=1000)
    for _ in range(3):
        paid_order(make, product, 1)
    record_payout(owner_of(coop), coop, {"household_id": h.id, "amount_fen": 100, "method": "cash",
                                         "reference": "R-1"})
    db.session.commit()
    return SimpleNamespace(staff=staff, h=h, coop=coop, product=product, link=link)


def append(books, amount, household_id=None, created_at=None, link_id=None, kind=EntryKind.accrual):
    [entry] = ledger.append([LedgerEntry(kind=kind, household_id=household_id or books.h.id,
                                         cooperative_id=books.coop.id, amount_fen=amount, link_id=link_id,
                                         created_at=created_at)])
    db.session.commit()
    return entry


def test_figures_and_household_rows_with_no_discrepancy(books):
    result = reconcile(books)
    assert {k: result[k] for k in ("paid_fen", "refunded_fen", "allocated_fen", "absorbed_fen", "retained_fen",
                                   "paid_out_fen", "owed_fen")} == {
        "paid_fen": 3000, "refunded_fen": 0, "allocated_fen": 300, "absorbed_fen": 0, "retained_fen": 2700,
        "paid_out_fen": 100, "owed_fen": 200}
    assert result["households"] == [{"household_id": books.h.id, "file_no": books.h.file_no, "county": "Zhashui",
                                     "village": "Jinmi", "allocated_fen": 300, "paid_out_fen": 100, "owed_fen": 200}]
    assert result["discrepancies"] == []


def test_the_same_statements_for_three_lines_or_thirty(make, books, count_queries):
    coop_id, start, end = books.coop.id, today() - timedelta(days=1), today()
    with count_queries() as few:
        reconciliation.reconcile(coop_id, start, end)
    for _ in range(27):
        paid_order(make, books.product, 1)
    with count_queries() as many:
        result = reconciliation.reconcile(coop_id, start, end)
    assert result["paid_fen"] == 30_000 and result["owed_fen"] == 2_900
    assert few.count == many.count <= 7


def test_an_accrual_without_an_approved_link_is_listed(make, books):
    stray = append(books, 1234)  # no link at all, no paid line
    other = household(books.staff, 2)
    db.session.commit()
    from marketplace.households.links import propose
    proposed = propose(owner_of(books.coop), books.coop, {"household_id": other.id, "kind": "wage",
                                                          "share_bp": 500, "valid_from": "2020-01-01"})
    db.session.commit()
    unapproved = append(books, 55, household_id=other.id, link_id=proposed.id)
    found = [d for d in reconcile(books)["discrepancies"] if d["kind"] == "accrual_without_approved_link"]
    assert [(d["entry_id"], d["household_id"]) for d in found] == [(stray.id, books.h.id), (unapproved.id, other.id)]


def test_a_balance_owed_for_more_than_90_days_is_listed(books):
    append(books, 700, created_at=utcnow() - timedelta(days=120), link_id=books.link.id)
    result = reconcile(books, days=200)
    assert kinds(result) == ["owed_longer_than_90_days"]
    [stale] = result["discrepancies"]
    assert (stale["household_id"], stale["owed_fen"], stale["older_than_90_days_fen"]) == (books.h.id, 900, 600)


def test_an_approved_link_whose_household_got_nothing_is_listed(make, books):
    idle = household(books.staff, 3)
    db.session.commit()
    link = approved_link(make, books.coop, idle.id, share_bp=500)
    found = [d for d in reconcile(books)["discrepancies"] if d["kind"] == "link_without_income"]
    assert [(d["link_id"], d["household_id"]) for d in found] == [(link.id, idle.id)]
    paid_order(make, books.product, 1)  # now both links earn
    assert "link_without_income" not in kinds(reconcile(books))


def entries(coop_id):
    return db.session.scalars(db.select(LedgerEntry).where(LedgerEntry.cooperative_id == coop_id)
                              .order_by(LedgerEntry.seq)).all()


def test_an_entry_edited_behind_the_applications_back_breaks_the_chain(make, books):
    other = SimpleNamespace(coop=make.coop(), h=books.h)
    append(other, 10)  # another cooperative's entry, later in the chain
    victim, theirs = entries(books.coop.id)[1], entries(other.coop.id)[0]
    _tamper(f"UPDATE ledger_entries SET amount_fen = amount_fen + 100 WHERE id = {victim.id}")
    _tamper(f"UPDATE ledger_entries SET amount_fen = 99 WHERE id = {theirs.id}")
    found = [d for d in reconcile(books)["discrepancies"] if d["kind"] == "ledger_chain_break"]
    assert found == [{"kind": "ledger_chain_break", "entry_id": victim.id, "seq": victim.seq,
                      "problem": chain.EDITED}]  # the other cooperative's edit is in its own books
    assert [d["entry_id"] for d in reconcile(other)["discrepancies"] if d["kind"] == "ledger_chain_break"] == [
        theirs.id]


def test_a_deleted_entry_breaks_the_chain_at_the_next_one(books):
    first, second = entries(books.coop.id)[:2]
    _tamper(f"DELETE FROM ledger_entries WHERE id = {first.id}")
    found = [d for d in reconcile(books)["discrepancies"] if d["kind"] == "ledger_chain_break"]
    assert [(d["entry_id"], d["problem"]) for d in found] == [(second.id, chain.MISSING_BEFORE)]


@pytest.mark.postgres
@pytest.mark.skipif(not PG_URL, reason="needs PostgreSQL (TEST_DATABASE_URL): the SQL hash runs there only")
def test_postgresql_hashes_like_python(books):
    """The SQL the chain check runs on PostgreSQL recomputes exactly ledger.entry_hash."""
    lo, hi = reconciliation._bounds(today() - timedelta(days=1), today())
    assert chain._postgres_breaks(books.coop.id, lo, hi, 0, 100) == [] == chain._python_breaks(
        books.coop.id, lo, hi, 0, 100)
    victims = entries(books.coop.id)
    _tamper(f"UPDATE ledger_entries SET created_at = created_at + interval '1 microsecond' WHERE id = {victims[0].id}")
    _tamper(f"UPDATE ledger_entries SET prev_hash = '{'f' * 64}' WHERE id = {victims[2].id}")
    python = chain._python_breaks(books.coop.id, lo, hi, 0, 100)
    assert chain._postgres_breaks(books.coop.id, lo, hi, 0, 100) == python
    assert [(b["entry_id"], b["problem"]) for b in python] == [(victims[0].id, chain.EDITED),
                                                              (victims[2].id, chain.EDITED)]


def test_after_a_full_verification_only_newer_entries_are_rehashed_and_its_break_is_reported(app, make, books):
    assert reconcile(books)["ledger"] == {"verified_at": None, "verified_entries": 0}
    result = app.test_cli_runner().invoke(args=["monitoring", "verify-ledger"])
    assert result.exit_code == 0 and "ok: 4 entries, chain intact (recorded)" in result.output
    ledger_info = reconcile(books)["ledger"]
    assert ledger_info["verified_entries"] == 4 and ledger_info["verified_at"] is not None
    old = entries(books.coop.id)[0]
    paid_order(make, books.product, 1)
    new = entries(books.coop.id)[-1]
    _tamper(f"UPDATE ledger_entries SET amount_fen = 1 WHERE id IN ({old.id}, {new.id})")
    found = [d for d in reconcile(books)["discrepancies"] if d["kind"] == "ledger_chain_break"]
    assert [d["entry_id"] for d in found] == [new.id]  # the old one waits for the next full verification
    result = app.test_cli_runner().invoke(args=["monitoring", "verify-ledger"])
    assert result.exit_code == 1 and f"entry id {old.id}" in result.output
    found = [d for d in reconcile(books)["discrepancies"] if d["kind"] == "ledger_chain_break"]
    assert [d["entry_id"] for d in found] == [old.id, new.id] and "found_at" in found[0]


def test_the_verify_button_is_for_programme_level_staff(app, make, books):
    county = make.staff()
    assign(county, "Zhashui", "county")
    db.session.commit()
    url = f"/staff/audit?cooperative_id={books.coop.id}"
    refused = client_for(app, county).post("/staff/audit/verify-ledger", data={"cooperative_id": books.coop.id})
    assert refused.status_code == 403
    web = client_for(app, books.staff)
    assert "never verified as a whole" in main_html(web.get(url))
    done = web.post("/staff/audit/verify-ledger", data={"cooperative_id": books.coop.id}, follow_redirects=True)
    page = main_html(done)
    assert "hash chain is intact: 4 entries verified." in page
    assert "the whole chain was last verified on" in page and "(4 entries)" in page
