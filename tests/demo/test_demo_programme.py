"""The demo seed's household side, without a browser: what staff see after
`python -m marketplace.demo` (households, a clean ledger, books that reconcile for every
demo cooperative, a case for the household whose wages fell) and that a second run
seeds nothing new."""
from datetime import datetime

import pytest
from sqlalchemy import func, select

from marketplace.catalog.models import Product
from marketplace.coops.models import Cooperative, CoopStatus
from marketplace.demo import programme_data as data
from marketplace.demo import seed as demo
from marketplace.extensions import db
from marketplace.households import identity, ledger
from marketplace.households.income import LOCAL
from marketplace.households.models import (BenefitLink, EntryKind, Household, HouseholdStatus, LedgerEntry,
                                           LinkStatus, Payout)
from marketplace.monitoring.dashboard import shift_month
from marketplace.monitoring.models import Case, IncomeRecord
from marketplace.monitoring.reconciliation import reconcile
from marketplace.orders.models import Order, OrderStatus

COUNTS = (Household, BenefitLink, Order, LedgerEntry, Payout, IncomeRecord, Case)


def counts() -> dict:
    return {model.__name__: db.session.scalar(select(func.count()).select_from(model)) for model in COUNTS}


@pytest.fixture
def seeded(app, monkeypatch):
    """The demo seeded once; product pictures (a WebP encoding of 35 photos, most of the
    seed's time and nothing to do with households) are left out."""
    monkeypatch.setattr(demo, "add_image", lambda *args, **kwargs: None)
    assert demo.seed() is True
    return app


def test_demo_shows_the_programme_and_a_second_run_seeds_nothing(seeded):
    """One seed for every check: seeding takes seconds."""
    households_are_registered_with_valid_encrypted_identity_numbers()
    links_approved_by_someone_else_and_orders_paid_refunded_delivered()
    ledger_verifies_and_every_demo_cooperative_reconciles()
    the_scan_opened_a_case_for_the_household_whose_wages_fell()
    running_the_demo_again_seeds_nothing_new()


def households_are_registered_with_valid_encrypted_identity_numbers():
    households = db.session.scalars(select(Household).order_by(Household.file_no)).all()
    assert [h.file_no for h in households] == sorted(row[0] for row in data.HOUSEHOLDS)
    coop_counties = set(db.session.scalars(select(Cooperative.county).where(
        Cooperative.status == CoopStatus.verified)))
    for h in households:
        number = identity.decrypt(h.id_number_encrypted)
        assert identity.is_valid(number) and number not in h.id_number_encrypted
        assert h.id_number_masked == identity.mask(number) and h.consent and h.county in coop_counties
    assert {h.status for h in households} == set(HouseholdStatus)


def links_approved_by_someone_else_and_orders_paid_refunded_delivered():
    links = db.session.scalars(select(BenefitLink).where(BenefitLink.status != LinkStatus.proposed)).all()
    assert len(links) == sum(len(v) for v in data.LINKS.values())
    waiting = db.session.scalars(select(BenefitLink).where(BenefitLink.status == LinkStatus.proposed)).all()
    assert [k.household.file_no for k in waiting] == [data.DROPPING]  # for staff to approve
    assert all(k.status == LinkStatus.approved and k.decided_by_id != k.proposed_by_id for k in links)
    assert {k.kind.value for k in links} == {"supplier", "wage", "dividend", "land_lease"}
    assert any(k.share_bp for k in links) and any(k.fixed_fen_per_unit for k in links)
    statuses = {o.cooperative.registration_no: o.status for o in db.session.scalars(select(Order))}
    assert statuses[data.SHIPPED_COOP] == OrderStatus.delivered
    assert statuses[data.REFUNDED_COOP] == OrderStatus.partially_refunded
    kinds = set(db.session.scalars(select(LedgerEntry.kind)))
    assert kinds == {EntryKind.accrual, EntryKind.reversal, EntryKind.payout}


def ledger_verifies_and_every_demo_cooperative_reconciles():
    assert ledger.verify()["ok"] is True
    today = datetime.now(LOCAL).date()
    coops = db.session.scalars(select(Cooperative).where(Cooperative.status == CoopStatus.verified)).all()
    assert len(coops) == 5
    for coop in coops:
        books = reconcile(coop.id, shift_month(today.replace(day=1), -11), today)
        assert books["discrepancies"] == [], coop.name
        assert books["paid_fen"] > 0 and books["allocated_fen"] > 0, coop.name


def the_scan_opened_a_case_for_the_household_whose_wages_fell():
    cases = db.session.scalars(select(Case)).all()
    assert [c.household.file_no for c in cases] == [data.DROPPING]
    assert db.session.scalar(select(func.count()).select_from(IncomeRecord).join(Household).where(
        Household.file_no == data.DROPPING, IncomeRecord.category == "wages")) == 24


def running_the_demo_again_seeds_nothing_new():
    before = counts()
    assert demo.seed() is False
    assert counts() == before
    assert ledger.verify()["ok"] is True


def test_a_demo_changed_by_its_users_still_starts(app, monkeypatch):
    """Someone sold out the Cabernet before the household side was seeded (a demo made
    before it existed): that order is skipped with a note, the rest is seeded."""
    monkeypatch.setattr(demo, "add_image", lambda *args, **kwargs: None)
    demo._seed_marketplace()
    cabernet = db.session.scalar(select(Product).join(Cooperative).where(
        Cooperative.registration_no == data.REFUNDED_COOP, Product.price_fen == 12800))
    cabernet.stock = 0
    db.session.commit()

    assert demo.seed() is True
    paid = {o.cooperative.registration_no for o in db.session.scalars(select(Order))}
    assert paid == {"93611026MA6YQL0001", "93140215MA0KDL0002"}  # DEMO-ORDER-1 only
    assert db.session.scalar(select(func.count()).select_from(Household)) == len(data.HOUSEHOLDS)
    assert ledger.verify()["ok"] is True
