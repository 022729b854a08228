"""Recording other income, spending and risk events, and the monitoring line:
validation (no future months, amounts above zero, categories that match the kind,
a line above zero), county scoping, audit records; and the income before and after
a measure."""
from datetime import date, datetime
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from marketplace.auth.models import Role
from marketplace.core.audit import AuditRecord
from marketplace.core.errors import DomainError
from marketplace.extensions import db
from marketplace.households.identity import with_check_digit
from marketplace.households.income import LOCAL
from marketplace.households.services import create_household
from marketplace.monitoring import cases, dashboard, records
from marketplace.monitoring.models import (IncomeRecord, MonitoringLine, RecordCategory, RecordKind, RiskEvent,
                                           StaffAssignment, StaffLevel)

TODAY = datetime.now(LOCAL).date()


def month(offset: int) -> date:
    """The first day of the month `offset` months before this one (negative: after)."""
    return dashboard.shift_month(TODAY.replace(day=1), -offset)


def household_in(staff, n, county="Zhashui"):
    return create_household(staff, {
        "file_no": f"6104261{n:05d}", "head_name": f"Head {n}", "id_number": with_check_digit(f"61042619850303{n:03d}"),
        "province": "Shaanxi", "county": county, "township": "Yingpan", "village": "Jinmi", "members": 4,
        "working_members": 2, "enrolled_at": "2020-01-01", "consent": True})


def add_income(staff, h, offset, yuan, category=RecordCategory.wages, kind=RecordKind.income):
    db.session.add(IncomeRecord(household_id=h.id, month=month(offset), kind=kind, category=category,
                                amount_fen=yuan * 100, recorded_by_id=staff.id))


def income_drop(staff, h):
    """2,000 a month for 3 months, then 1,000 a month for the last 3 (-50 %)."""
    for offset in range(3, 6):
        add_income(staff, h, offset, 2000)
    for offset in range(0, 3):
        add_income(staff, h, offset, 1000)


def assign(user, county, level):
    db.session.add(StaffAssignment(user_id=user.id, county=county, level=StaffLevel(level)))


@pytest.fixture
def world(make):
    """Programme staff, an admin, village and county staff of Zhashui, staff of Elsewhere;
    household h in Zhashui and far in Elsewhere."""
    staff, admin = make.staff(), make.user(role=Role.admin)
    village, county, other = make.staff(), make.staff(), make.staff()
    assign(village, "Zhashui", "village")
    assign(county, "Zhashui", "county")
    assign(other, "Elsewhere", "county")
    h, far = household_in(staff, 1), household_in(staff, 2, county="Elsewhere")
    db.session.commit()
    return SimpleNamespace(staff=staff, admin=admin, village=village, county=county, other=other, h=h, far=far)


def error_of(call):
    with pytest.raises(DomainError) as info:
        call()
    db.session.rollback()
    return info.value


def test_other_income_and_spending_are_recorded_with_an_audit_record(world):
    r = records.record_income(world.village, world.h, {"kind": "income", "category": "wages", "month": month(1)
                                                       .strftime("%Y-%m"), "amount_yuan": "1,234.50",
                                                       "source": "Brick works"})
    s = records.record_income(world.staff, world.h, {"kind": "spending", "category": "medical",
                                                     "month": month(0).isoformat(), "amount_fen": 50_000})
    db.session.commit()
    assert (r.amount_fen, r.month, r.source) == (123_450, month(1), "Brick works")
    assert (s.kind, s.month) == (RecordKind.spending, month(0))
    actions = db.session.scalars(select(AuditRecord.action).where(AuditRecord.object_type == "income_records")).all()
    assert sorted(actions) == ["household.income_record", "household.spending_record"]


@pytest.mark.parametrize("data, field", [
    ({"month": "next"}, "month"),  # replaced below by next month
    ({"amount_fen": -100}, "amount_fen"),
    ({"amount_fen": 0}, "amount_fen"),
    ({"amount_yuan": "-5"}, "amount_fen"),
    ({"amount_yuan": "12.345"}, "amount_fen"),
    ({"month": "2026-13"}, "month"),
    ({"category": "lottery"}, "category"),
])
def test_future_months_and_amounts_of_zero_or_less_are_422(world, data, field):
    good = {"kind": "income", "category": "wages", "month": month(0).isoformat(), "amount_fen": 100}
    if data.get("month") == "next":
        data = {"month": month(-1).strftime("%Y-%m")}
    if "amount_yuan" in data:
        good.pop("amount_fen")
    err = error_of(lambda: records.record_income(world.staff, world.h, {**good, **data}))
    assert err.status == 422 and field in err.fields
    assert db.session.scalar(select(func.count()).select_from(IncomeRecord)) == 0


def test_a_category_must_match_the_kind(world):
    err = error_of(lambda: records.record_income(world.staff, world.h, {
        "kind": "income", "category": "medical", "month": month(0).isoformat(), "amount_fen": 100}))
    assert (err.status, err.code) == (422, "category_mismatch")
    assert records.categories_for("spending") == ["medical", "education", "disaster_loss", "other_spending"]


def test_risk_events_cannot_be_in_the_future(world):
    tomorrow = date.fromordinal(TODAY.toordinal() + 1)
    err = error_of(lambda: records.record_risk_event(world.staff, world.h, {"kind": "disaster",
                                                                            "occurred_on": tomorrow.isoformat()}))
    assert err.status == 422 and "occurred_on" in err.fields
    flood = {"kind": "flood", "occurred_on": "2026-01-01"}
    assert error_of(lambda: records.record_risk_event(world.staff, world.h, flood)).status == 422
    event = records.record_risk_event(world.staff, world.h, {"kind": "serious_illness", "occurred_on": TODAY,
                                                             "note": "stroke"})
    db.session.commit()
    assert db.session.get(RiskEvent, event.id).note == "stroke"


def test_staff_of_another_county_cannot_record_for_the_household(world):
    err = error_of(lambda: records.record_income(world.other, world.h, {
        "kind": "income", "category": "wages", "month": month(0).isoformat(), "amount_fen": 100}))
    assert err.status == 404
    assert error_of(lambda: records.record_risk_event(world.other, world.h, {
        "kind": "disaster", "occurred_on": TODAY.isoformat()})).status == 404
    records.record_income(world.other, world.far, {"kind": "income", "category": "subsidy",
                                                   "month": month(0).isoformat(), "amount_fen": 100})


def test_only_an_admin_sets_a_line_above_zero_for_a_year_in_range(world):
    assert error_of(lambda: records.set_line(world.staff, {"year": 2026, "yuan_per_person": 7500})).code == "admin_only"
    for bad in ({"year": 2026, "yuan_per_person": 0}, {"year": 2026, "yuan_per_person": -7500},
                {"year": 1999, "yuan_per_person": 7500}, {"year": 2101, "yuan_per_person": 7500},
                {"year": 2026, "yuan_per_person": "lots"}):
        assert error_of(lambda: records.set_line(world.admin, bad)).status == 422
    line, created = records.set_line(world.admin, {"year": 2026, "yuan_per_person": 7500})
    assert created
    line, created = records.set_line(world.admin, {"year": "2026", "yuan_per_person": "7600"})
    db.session.commit()
    assert not created and db.session.scalars(select(MonitoringLine.yuan_per_person)).all() == [7600]
    audit = db.session.scalars(select(AuditRecord).where(AuditRecord.action == "monitoring.line")
                               .order_by(AuditRecord.id)).all()
    assert [a.after["yuan_per_person"] for a in audit] == [7500, 7600] and audit[1].before["yuan_per_person"] == 7500


def test_income_before_and_after_a_measure(world):
    h = world.h
    add_income(world.staff, h, 6, 900)
    add_income(world.staff, h, 5, 1200)
    add_income(world.staff, h, 4, 1200)
    add_income(world.staff, h, 3, 1200)  # before: 3 x 1,200
    add_income(world.staff, h, 2, 2400)  # after: the start month and the next two
    add_income(world.staff, h, 1, 2400)
    add_income(world.staff, h, 0, 3000)
    add_income(world.staff, h, 1, 500, RecordCategory.medical, RecordKind.spending)  # spending is not income
    case = cases.open_case(h, [{"rule": "income_drop", "detail": {}}])
    measure = cases.add_measure(world.county, case, {"kind": "employment", "helper": "Li Ming",
                                                     "started_on": month(2).replace(day=12).isoformat()})
    db.session.commit()
    effect = dashboard.measure_income(h, case.measures, TODAY)[measure.id]
    assert [r["income_fen"] for r in effect["before"]["months"]] == [120_000] * 3
    assert [r["income_fen"] for r in effect["after"]["months"]] == [240_000, 240_000, 300_000]
    assert effect["before"]["average_fen"] == 120_000 and effect["after"]["average_fen"] == 260_000
    assert effect["after"]["per_person_fen"] == 65_000 and effect["change_pct"] == 117


def test_months_still_to_come_are_not_counted(world):
    add_income(world.staff, world.h, 1, 1000)
    case = cases.open_case(world.h, [])
    measure = cases.add_measure(world.county, case, {"kind": "health", "helper": "Dr Wu",
                                                     "started_on": month(0).isoformat()})
    effect = dashboard.measure_income(world.h, [measure], TODAY)[measure.id]
    assert [r["future"] for r in effect["after"]["months"]] == [False, True, True]
    assert effect["after"]["known_months"] == 1 and effect["before"]["average_fen"] == 33_333
    assert effect["change_pct"] == -100  # only this month counts so far, and it has nothing yet
    quiet = household_in(world.staff, 3)
    empty = cases.add_measure(world.county, cases.open_case(quiet, []),
                              {"kind": "health", "helper": "Dr Wu", "started_on": month(0).isoformat()})
    assert dashboard.measure_income(quiet, [empty], TODAY)[empty.id]["change_pct"] is None  # nothing before


def test_a_measure_outcome_is_audited(world):
    case = cases.open_case(world.h, [])
    measure = cases.add_measure(world.county, case, {"kind": "industry", "helper": "Zhao", "started_on": TODAY})
    records.record_outcome(world.county, case, measure, "  Sells 40 kg of tea a month  ")
    db.session.commit()
    assert measure.outcome == "Sells 40 kg of tea a month"
    assert error_of(lambda: records.record_outcome(world.other, case, measure, "x" * 5)).status == 404
    assert error_of(lambda: records.record_outcome(world.county, case, measure, "x" * 3001)).status == 422
