"""Programme staff's journey: verify a cooperative's application, approve a benefit link
(the two-person rule: the cooperative proposed it), work a monitoring case from the
village review to assistance, reconcile a cooperative's money and export it.

The scene is set through the services: an application waiting, a verified cooperative
that proposed a 10 % share of each sale for household 1, and a case opened for
household 2 after a risk event. A buyer's paid order (services too) comes in after the
approval, so the reconciliation has money in every column.
"""
import csv
import io

import pytest
from playwright.sync_api import expect

from marketplace.catalog.models import Product
from marketplace.coops.models import Cooperative, CoopStatus
from marketplace.extensions import db
from marketplace.households.links import propose
from marketplace.households.models import BenefitLink, LinkStatus
from marketplace.monitoring.cases import open_case
from marketplace.monitoring.models import Case, CaseStatus
from tests.conftest import Factory, owner_of
from tests.households.test_ledger import household, paid_order

pytestmark = pytest.mark.browser

APPLICANT = "大同黄花菜合作社 Datong Day Lily Co-op"
SELLER = "柞水木耳合作社 Zhashui Wood-ear Co-op"


@pytest.fixture
def scene(live_server):
    with live_server.app_context():
        make = Factory()
        make.coop(name=APPLICANT, status="pending", province="Shanxi", county="Yunzhou",
                  registration_no="93140225MA0L8Q2X3B", story="Day lilies from the volcano slopes of Datong.")
        seller = make.coop(name=SELLER)
        product = make.product(seller, title="秦岭黑木耳 Qinling black wood-ear", price_fen=5000, stock=30)
        registrar = make.staff()
        linked, at_risk = household(registrar, 1), household(registrar, 2)
        db.session.commit()
        propose(owner_of(seller), seller, {"household_id": linked.id, "kind": "supplier", "share_bp": 1000,
                                           "valid_from": "2024-01-01"})
        case = open_case(at_risk, [{"rule": "risk_event", "detail": {}}])
        db.session.commit()
        return {"staff": make.staff().email, "make": make, "product_id": product.id, "case_id": case.id,
                "linked": f"{linked.head_name} · {linked.file_no}"}


def nav(journey, page, name):
    page.get_by_role("navigation", name=journey.t("Main")).get_by_role("link", name=journey.t(name)).click()


def verify_application(journey, staff):
    t = journey.t
    nav(journey, staff, "Staff")
    application = staff.locator("main article", has=staff.get_by_role("heading", name=APPLICANT))
    expect(application).to_contain_text("93140225MA0L8Q2X3B")
    journey.step(staff, "applications")
    application.get_by_role("button", name=t("Verify")).click()
    expect(journey.flash(staff)).to_contain_text(t("%(name)s is now %(status)s.", name=APPLICANT, status=t("verified")))
    expect(staff.locator("main article")).to_have_count(0)  # nothing else waiting
    journey.step(staff, "application-verified")


def approve_link(journey, staff, linked):
    t = journey.t
    nav(journey, staff, "Households")
    journey.step(staff, "household-register")
    staff.get_by_role("link", name=t("Links to approve")).click()
    proposal = staff.locator("main article", has=staff.get_by_role("link", name=linked))
    expect(proposal).to_contain_text(SELLER)
    journey.step(staff, "link-to-approve")
    proposal.get_by_role("button", name=t("Approve")).click()
    expect(journey.flash(staff)).to_contain_text(t("Link approved."))
    journey.step(staff, "link-approved")


def work_case(journey, staff, case_id):
    t = journey.t
    nav(journey, staff, "Monitoring")
    expect(staff.get_by_role("heading", level=1)).to_have_text(t("Income monitoring"))
    journey.step(staff, "monitoring-dashboard")
    staff.get_by_role("navigation", name=t("Monitoring")).get_by_role("link", name=t("Cases")).click()
    journey.step(staff, "cases")
    staff.locator("main").get_by_role("link", name=f"#{case_id}", exact=True).click()
    expect(staff.get_by_role("heading", level=1)).to_contain_text(t("Case #%(id)d", id=case_id))
    journey.step(staff, "case-opened")
    for to, comment in (("village_review", "Visited: the father broke his leg at harvest."),
                        ("township_check", "Checked the medical bills with the clinic."),
                        ("county_decision", "A public-welfare job until he can work again.")):
        staff.get_by_label(t("Move the case to")).select_option(to)
        staff.get_by_label(t("Comment (what you found or decided)")).fill(comment)
        staff.get_by_role("button", name=t("Record this step")).click()
        expect(journey.flash(staff)).to_contain_text(t("The case moved on."))
    journey.step(staff, "case-county-decision")
    staff.get_by_label(t("Kind of measure")).select_option(index=0)
    staff.get_by_label(t("Helper (the named person who helps)")).fill("村支书 Secretary Liu")
    staff.get_by_label(t("Started on")).fill("2026-11-01")
    staff.get_by_role("button", name=t("Record the measure")).click()
    expect(journey.flash(staff)).to_contain_text(t("Measure recorded."))
    staff.get_by_label(t("Move the case to")).select_option("assisted")
    staff.get_by_label(t("Comment (what you found or decided)")).fill("He started on the village road crew.")
    staff.get_by_role("button", name=t("Record this step")).click()
    expect(journey.flash(staff)).to_contain_text(t("The case moved on."))
    journey.step(staff, "case-assisted")


def reconcile_and_export(journey, staff, tmp_path):
    t = journey.t
    nav(journey, staff, "Audit")
    expect(staff.get_by_role("heading", level=1)).to_have_text(t("Reconciliation"))
    staff.get_by_label(t("Cooperative")).select_option(label=SELLER)
    staff.get_by_role("button", name=t("Show")).click()
    expect(staff.locator("main")).to_contain_text(t("No discrepancy found."))
    expect(staff.locator("main table.audit-figures")).to_contain_text("¥100.00")  # sales
    expect(staff.locator("main table.audit-figures")).to_contain_text("¥10.00")  # to the household
    journey.step(staff, "reconciliation")
    with staff.expect_download() as download:
        staff.get_by_role("link", name=t("Households (CSV)")).click()
    path = tmp_path / "households.csv"
    download.value.save_as(path)
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    assert len(rows) == 2 and "1000" in rows[1], rows  # the header, then household 1's 1,000 fen
    journey.step(staff, "exported")


def test_staff_verifies_approves_works_a_case_reconciles_and_exports(journey, scene, live_server, tmp_path):
    staff = journey.phone()
    journey.log_in(staff, scene["staff"], step="login")
    verify_application(journey, staff)
    approve_link(journey, staff, scene["linked"])
    with live_server.app_context():  # a buyer pays for two bags at ¥50.00: ¥10.00 to the household
        paid_order(scene["make"], db.session.get(Product, scene["product_id"]), 2)
    work_case(journey, staff, scene["case_id"])
    reconcile_and_export(journey, staff, tmp_path)

    with live_server.app_context():
        assert db.session.scalar(db.select(Cooperative.status).where(Cooperative.name == APPLICANT)) \
            == CoopStatus.verified
        assert db.session.scalar(db.select(BenefitLink.status)) == LinkStatus.approved
        assert db.session.get(Case, scene["case_id"]).status == CaseStatus.assisted
