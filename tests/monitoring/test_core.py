"""Monitoring rules, the case workflow with step levels, and reconciliation."""
from datetime import date, timedelta

import pytest

from marketplace.core.clock import local_today
from marketplace.core.errors import DomainError
from marketplace.extensions import db
from marketplace.households.models import Payout
from marketplace.households.services import record_payout
from marketplace.monitoring import cases, reconciliation
from marketplace.monitoring.models import (Case, IncomeRecord, MonitoringLine, RecordCategory, RecordKind,
                                           StaffAssignment, StaffLevel)
from marketplace.monitoring.scan import run_scan
from tests.conftest import owner_of
from tests.households.test_ledger import approved_link, household, paid_order

TODAY = date(2026, 11, 15)


def month(offset):
    y, m = TODAY.year, TODAY.month - offset
    while m < 1:
        y, m = y - 1, m + 12
    return date(y, m, 1)


def wages(staff, h, offset, yuan):
    db.session.add(IncomeRecord(household_id=h.id, month=month(offset), kind=RecordKind.income,
                                category=RecordCategory.wages, amount_fen=yuan * 100, recorded_by_id=staff.id))


def dropping_and_steady(staff, first_no):
    """Two households with wages of ¥2,000 a month three to five months ago; in the last three
    months one earns half of that (income falling), the other the same."""
    dropping, steady = household(staff, first_no), household(staff, first_no + 1)
    for h in (dropping, steady):
        for offset in range(3, 6):
            wages(staff, h, offset, 2000)
        for offset in range(0, 3):
            wages(staff, h, offset, 1000 if h is dropping else 2000)
    db.session.commit()
    return dropping, steady


@pytest.fixture
def staff(make):
    return make.staff()


def test_income_drop_opens_one_case_and_a_rescan_opens_none(staff):
    h = household(staff, 1)
    db.session.add(MonitoringLine(year=TODAY.year, yuan_per_person=100))
    for offset in range(6, 12):
        wages(staff, h, offset, 2000)
    for offset in range(3, 6):
        wages(staff, h, offset, 2000)
    for offset in range(0, 3):
        wages(staff, h, offset, 1000)  # -50 %
    db.session.commit()
    assert run_scan(TODAY)["opened"] == 1
    case = db.session.scalar(db.select(Case))
    assert [r["rule"] for r in case.reasons] == ["income_drop"]
    assert run_scan(TODAY)["opened"] == 0


def test_the_scan_records_each_new_case_and_puts_its_household_under_watch(staff):
    from marketplace.core.audit import AuditRecord
    from marketplace.households.models import HouseholdStatus

    dropping, steady = dropping_and_steady(staff, 11)
    assert run_scan(TODAY) == {"households": 2, "opened": 1, "already_open": 0}
    db.session.commit()
    db.session.expire_all()
    case = db.session.scalar(db.select(Case))
    assert case.household_id == dropping.id and case.status.value == "identified"
    assert (dropping.status, steady.status) == (HouseholdStatus.monitored, HouseholdStatus.stable)
    record = db.session.scalar(db.select(AuditRecord).where(AuditRecord.action == "case.open"))
    assert (record.object_type, record.object_id, record.actor_id) == ("cases", case.id, None)
    assert record.before == {"household_status": "stable"}
    assert record.after == {"household_id": dropping.id, "reasons": case.reasons, "household_status": "monitored"}
    assert run_scan(TODAY) == {"households": 2, "opened": 0, "already_open": 1}


def test_below_the_line_and_spending_above_income(staff):
    h = household(staff, 2)
    db.session.add(MonitoringLine(year=TODAY.year, yuan_per_person=7500))
    wages(staff, h, 1, 1000)
    db.session.add(IncomeRecord(household_id=h.id, month=month(2), kind=RecordKind.spending,
                                category=RecordCategory.medical, amount_fen=500_000, recorded_by_id=staff.id))
    db.session.commit()
    run_scan(TODAY)
    rules = {r["rule"] for r in db.session.scalar(db.select(Case)).reasons}
    assert rules == {"below_line", "spending_above_income"}


def test_steps_need_the_right_level_and_cannot_be_skipped(make, staff):
    h = household(staff, 3)
    case = cases.open_case(h, [{"rule": "risk_event", "detail": {}}])
    village, county = make.staff(), make.staff()
    db.session.add_all([StaffAssignment(user_id=village.id, county=h.county, level=StaffLevel.village),
                        StaffAssignment(user_id=county.id, county=h.county, level=StaffLevel.county)])
    db.session.commit()
    with pytest.raises(DomainError) as info:
        cases.transition(village, case, "township_check", "skip ahead")
    assert info.value.code == "invalid_transition"
    cases.transition(village, case, "village_review", "visited the family")
    with pytest.raises(DomainError) as info:
        cases.transition(village, case, "township_check", "not my level")
    assert info.value.code == "wrong_level"
    cases.transition(county, case, "township_check", "checked")
    cases.transition(county, case, "county_decision", "decided")
    with pytest.raises(DomainError) as info:
        cases.transition(county, case, "assisted", "no measure yet")
    assert info.value.code == "measure_required"
    cases.add_measure(county, case, {"kind": "employment", "helper": "Li Ming", "started_on": "2026-11-01"})
    cases.transition(county, case, "assisted", "job found")
    assert [s.to_status.value for s in case.steps] == ["village_review", "township_check", "county_decision",
                                                       "assisted"]


def test_the_households_status_follows_its_case(make, staff):
    from marketplace.households.models import HouseholdStatus as H

    helped, dismissed, gone = household(staff, 6), household(staff, 7), household(staff, 8)
    gone.status = H.exited
    for h in (helped, dismissed, gone):
        cases.open_case(h, [{"rule": "risk_event", "detail": {}}])
    db.session.commit()
    assert (helped.status, dismissed.status, gone.status) == (H.monitored, H.monitored, H.exited)
    case = db.session.scalar(db.select(Case).where(Case.household_id == helped.id))
    for to in ("village_review", "township_check", "county_decision"):
        cases.transition(staff, case, to, "next step")
    assert helped.status == H.monitored
    cases.add_measure(staff, case, {"kind": "health", "helper": "Dr Wu", "started_on": "2026-11-01"})
    cases.transition(staff, case, "assisted", "treated")
    assert helped.status == H.assisted
    cases.transition(staff, case, "closed", "income back")
    other = db.session.scalar(db.select(Case).where(Case.household_id == dismissed.id))
    cases.transition(staff, other, "dismissed", "a typing slip in the wages")
    left = db.session.scalar(db.select(Case).where(Case.household_id == gone.id))
    cases.transition(staff, left, "dismissed", "moved to the city")
    db.session.commit()
    assert (helped.status, dismissed.status, gone.status) == (H.stable, H.stable, H.exited)


def test_staff_of_another_county_cannot_see_the_case(make, staff):
    h = household(staff, 4)
    case = cases.open_case(h, [])
    other = make.staff()
    db.session.add(StaffAssignment(user_id=other.id, county="Elsewhere", level=StaffLevel.county))
    db.session.commit()
    with pytest.raises(DomainError) as info:
        cases.transition(other, case, "village_review", "hello")
    assert info.value.status == 404


def test_reconciliation_balances_and_finds_a_planted_discrepancy(make, staff):
    coop = make.coop()
    h = household(staff, 5)
    db.session.commit()
    product = make.product(coop, price_fen=1000, stock=50)
    approved_link(make, coop, h.id, share_bp=1000)
    paid_order(make, product, 3)
    record_payout(owner_of(coop), coop, {"household_id": h.id, "amount_fen": 100, "method": "cash",
                                         "reference": "R-1"})
    db.session.commit()
    today = local_today()  # the app's periods are Asia/Shanghai days
    result = reconciliation.reconcile(coop.id, today - timedelta(days=1), today)
    assert (result["paid_fen"], result["allocated_fen"], result["retained_fen"], result["paid_out_fen"],
            result["owed_fen"]) == (3000, 300, 2700, 100, 200)
    assert result["discrepancies"] == []
    record_payout(owner_of(coop), coop, {"household_id": h.id, "amount_fen": 50, "method": "cash"})
    db.session.commit()
    kinds = [d["kind"] for d in reconciliation.reconcile(coop.id, today - timedelta(days=1), today)["discrepancies"]]
    assert kinds == ["payout_without_reference"]
    assert db.session.scalar(db.select(db.func.count()).select_from(Payout)) == 2
