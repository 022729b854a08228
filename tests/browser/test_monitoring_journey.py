"""Income monitoring and the audit workspace in Chromium, each staff member in a browser
of their own, against the served app with CSRF on.

1. A household's wages drop: village staff record the last three months through the
   household page, the scan (the dashboard's button) opens a case, village, township and
   county staff each take their own step with a comment (a step above one's level is
   refused), the county records a measure and closes the case, and the dashboard shows
   the household at risk, then assisted, then no longer at risk.
2. The reconciliation of every demo cooperative shows no discrepancy; an accrual planted
   behind the application's back (no paid line, no approved link) is then listed.
"""
import re
from datetime import datetime
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from marketplace.auth.models import Role
from marketplace.coops.models import Cooperative
from marketplace.demo import seed as demo
from marketplace.extensions import db
from marketplace.households import ledger
from marketplace.households.identity import with_check_digit
from marketplace.households.income import LOCAL
from marketplace.households.models import EntryKind, Household, HouseholdStatus, LedgerEntry
from marketplace.households.services import create_household
from marketplace.monitoring.dashboard import shift_month
from marketplace.monitoring.models import (Case, IncomeRecord, RecordCategory, RecordKind, StaffAssignment,
                                           StaffLevel)
from tests.conftest import PASSWORD, Factory

pytestmark = pytest.mark.browser

COUNTY = "柞水县 Zhashui"
FILE_NO = "610426100017"
USUAL_WAGES, CUT_WAGES = 4000, 1000  # yuan a month, before and after the brick works laid him off


def month(offset: int):
    """The first day of the month `offset` months before this one (Asia/Shanghai)."""
    return shift_month(datetime.now(LOCAL).date().replace(day=1), -offset)


def yuan(n: int) -> str:
    return f"¥{n:,}.00"


# --- setting the scene (direct database writes, committed before any page loads) --------------

def staff_and_household(live_server) -> dict:
    """An admin, village, township and county staff of Zhashui, and household FILE_NO
    (4 members) whose wages were 4,000 yuan a month from 11 to 3 months ago."""
    with live_server.app_context():
        make = Factory()
        admin = make.user(role=Role.admin, email="admin@example.com", name="Admin Zhou")
        people = {"admin": admin.email}
        for level, name in (("village", "Village Wang"), ("township", "Township Liu"), ("county", "County Chen")):
            user = make.user(role=Role.staff, email=f"{level}@example.com", name=name)
            db.session.add(StaffAssignment(user_id=user.id, county=COUNTY, level=StaffLevel(level)))
            people[level] = user.email
        h = create_household(admin, {
            "file_no": FILE_NO, "head_name": "王大山 Wang Dashan", "id_number": with_check_digit("61042619800101001"),
            "province": "Shaanxi", "county": COUNTY, "township": "营盘镇 Yingpan", "village": "金米村 Jinmi",
            "members": 4, "working_members": 2, "enrolled_at": "2020-01-01", "consent": True})
        for offset in range(3, 12):
            db.session.add(IncomeRecord(household_id=h.id, month=month(offset), kind=RecordKind.income,
                                        category=RecordCategory.wages, amount_fen=USUAL_WAGES * 100,
                                        source="Brick works", recorded_by_id=admin.id))
        db.session.commit()
        return {**people, "household_id": h.id}


def case_of(live_server, household_id):
    with live_server.app_context():
        return db.session.scalars(select(Case).where(Case.household_id == household_id)).all()


def household_status(live_server, household_id):
    with live_server.app_context():
        return db.session.get(Household, household_id).status


# --- browser helpers ----------------------------------------------------------------------------

def log_in(page, live_url, email, password=PASSWORD):
    page.goto(live_url + "/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.locator("main").get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def staff_browser(browser, browser_context_args, live_url, email):
    """A browser context of its own for one staff member, logged in."""
    page = browser.new_context(**browser_context_args).new_page()
    log_in(page, live_url, email)
    return page


def snap(request, page, step):
    """Like the `shot` fixture, for the pages of the other browser contexts."""
    folder = Path(request.config.rootpath) / "test-artifacts" / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{request.node.originalname}-{step}.png"), full_page=True)


def flash(page):
    return page.get_by_role("status")


def dashboard_figure(page, label):
    """The number in the dashboard tile whose label is `label`."""
    return page.locator(".mon-tiles > div", has=page.locator("dt", has_text=label)).locator("dd")


def step_count(page, status):
    return page.locator(f"table.mon-steps tr[data-step={status}] td")


def move_case(page, to_label, comment):
    page.get_by_label("Move the case to").select_option(label=to_label)
    page.get_by_label("Comment (what you found or decided)").fill(comment)
    page.get_by_role("button", name="Record this step").click()


def record_wages(page, when, amount):
    form = page.locator("form", has=page.get_by_label("Amount (yuan)"))
    form.get_by_label("What", exact=True).select_option("wages")
    form.get_by_label("Month").fill(when.strftime("%Y-%m"))
    form.get_by_label("Amount (yuan)").fill(str(amount))
    form.get_by_label("Source (employer, programme, hospital …)").fill("Brick works, laid off: odd jobs")
    form.get_by_role("button", name="Save").click()
    expect(flash(page)).to_contain_text("Saved.")


# --- 1. from an income drop to a closed case ----------------------------------------------------------

def test_income_drop_scan_case_steps_measure_and_dashboard(page, browser, browser_context_args, live_server,
                                                           live_url, shot, request):
    people = staff_and_household(live_server)
    household_id = people["household_id"]
    this_year = datetime.now(LOCAL).year

    # The admin sets this year's monitoring line.
    admin = staff_browser(browser, browser_context_args, live_url, people["admin"])
    admin.goto(live_url + "/staff/monitoring/lines")
    admin.get_by_label("Year", exact=True).fill(str(this_year))
    admin.get_by_label("Yuan per person per year").fill("7500")
    admin.get_by_role("button", name="Save").click()
    expect(flash(admin)).to_contain_text(f"The monitoring line for {this_year} is now ¥7,500 per person.")
    snap(request, admin, "line-set")

    # Village staff: nobody is at risk yet; they find the household and record the lower wages.
    log_in(page, live_url, people["village"])
    page.get_by_role("link", name="Monitoring").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Income monitoring")
    expect(dashboard_figure(page, "Households at risk (open cases)")).to_have_text("0")
    expect(page.get_by_text("No household is at risk: no open case.")).to_be_visible()
    shot("dashboard-before")
    page.get_by_label("A household's income and risks, by file number").fill(FILE_NO)
    page.get_by_role("button", name="Open", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/staff/monitoring/households/{household_id}/records$"))
    for offset in (2, 1, 0):
        record_wages(page, month(offset), CUT_WAGES)
    picture = page.locator("section", has=page.get_by_role("heading", name="Income picture, last 12 months"))
    rolling = 9 * USUAL_WAGES + 3 * CUT_WAGES
    expect(picture.locator("dl")).to_contain_text(f"Last 12 months{yuan(rolling)}")
    expect(picture.locator("dl")).to_contain_text(f"Last 12 months, per person{yuan(rolling // 4)}")
    this_month_row = picture.locator("tbody tr", has=page.get_by_role("rowheader", name=month(0).strftime("%Y-%m")))
    expect(this_month_row).to_contain_text(yuan(CUT_WAGES))
    expect(picture.get_by_role("img", name="Income per month")).to_be_visible()
    shot("income-recorded")

    # The scan opens one case, for the income drop only (the yearly figure is above the line).
    page.get_by_role("link", name="Monitoring", exact=True).first.click()
    page.get_by_role("button", name="Run the monitoring scan now").click()
    expect(flash(page)).to_contain_text("Scanned 1 households: 1 new cases, 0 already open.")
    expect(dashboard_figure(page, "Households at risk (open cases)")).to_have_text("1")
    at_risk = page.locator(".mon-risk-list > li")
    expect(at_risk).to_have_count(1)
    expect(at_risk).to_contain_text("Wang Dashan")
    expect(at_risk).to_contain_text("Income dropped sharply")
    expect(at_risk).not_to_contain_text("below the monitoring line")
    expect(step_count(page, "identified")).to_have_text("1")
    shot("scan-opened-a-case")
    [case] = case_of(live_server, household_id)
    assert household_status(live_server, household_id) == HouseholdStatus.monitored

    # Village review, by the village.
    at_risk.get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"Case #{case.id}")
    expect(page.locator("main")).to_contain_text(
        f"{yuan(3 * CUT_WAGES)} in the last 3 months against {yuan(3 * USUAL_WAGES)} in the 3 before.")
    move_case(page, "Village review", "Visited the family: the brick works closed in spring.")
    expect(flash(page)).to_contain_text("The case moved on.")
    # The next step is the township's: the village's attempt is refused and nothing moves.
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        move_case(page, "Township check", "I will check it myself.")
    assert posted.value.status == 403
    expect(flash(page)).to_contain_text("This step needs a township-level staff member.")
    shot("village-cannot-take-the-township-step")

    # Township check, by the township; then the county decides, records a measure, and closes.
    township = staff_browser(browser, browser_context_args, live_url, people["township"])
    township.goto(f"{live_url}/staff/monitoring/cases/{case.id}")
    move_case(township, "Township check", "Checked the wage slips: 1,000 yuan a month since the layoff.")
    expect(flash(township)).to_contain_text("The case moved on.")
    snap(request, township, "township-check")

    county = staff_browser(browser, browser_context_args, live_url, people["county"])
    county.goto(f"{live_url}/staff/monitoring/cases/{case.id}")
    move_case(county, "County decision", "Decided: employment help at the county's new workshop.")
    expect(flash(county)).to_contain_text("The case moved on.")
    county.get_by_label("Kind of measure").select_option(label="Employment")
    county.get_by_label("Helper (the named person who helps)").fill("李明 Li Ming")
    county.get_by_label("Started on").fill(datetime.now(LOCAL).date().isoformat())
    county.get_by_label("Description").fill("A job at the Jinmi fungus drying workshop.")
    county.get_by_role("button", name="Record the measure").click()
    expect(flash(county)).to_contain_text("Measure recorded.")
    effect = county.locator("table.mon-effect")
    expect(effect.get_by_role("row", name=re.compile("^Before"))).to_contain_text(yuan(USUAL_WAGES))
    expect(effect.get_by_role("row", name=re.compile("^After"))).to_contain_text(yuan(CUT_WAGES))
    move_case(county, "Assisted", "He started at the workshop on Monday.")
    expect(flash(county)).to_contain_text("The case moved on.")
    county.get_by_label("Outcome", exact=True).fill("Earns 2,800 yuan a month at the workshop.")
    county.get_by_role("button", name="Save outcome").click()
    expect(flash(county)).to_contain_text("Outcome saved.")
    snap(request, county, "assisted-with-a-measure")

    # The dashboard: the case sits in the "Assisted" row and the household counts as assisted.
    page.goto(live_url + "/staff/monitoring")
    expect(step_count(page, "assisted")).to_have_text("1")
    expect(step_count(page, "identified")).to_have_text("0")
    by_status = page.locator("section", has=page.get_by_role("heading", name="Households by status"))
    expect(by_status.get_by_role("img", name="Households by status")).to_be_visible()
    by_status.get_by_text("Show the figures as a table").click()
    expect(by_status.get_by_role("row", name=re.compile("^Assisted"))).to_contain_text("1")
    expect(by_status.get_by_role("row", name=re.compile("^Monitored"))).to_contain_text("0")
    expect(page.locator(".mon-risk-list")).to_contain_text("Assisted")
    shot("dashboard-assisted")
    assert household_status(live_server, household_id) == HouseholdStatus.assisted

    county.goto(f"{live_url}/staff/monitoring/cases/{case.id}")
    move_case(county, "Closed", "Income back above the line for three months.")
    expect(flash(county)).to_contain_text("The case moved on.")
    steps = county.locator("ol.timeline > li")
    expect(steps).to_have_count(6)  # opened by the scan, then five steps
    for n, (label, who) in enumerate((("Village review", "Village Wang"), ("Township check", "Township Liu"),
                                      ("County decision", "County Chen"), ("Assisted", "County Chen"),
                                      ("Closed", "County Chen")), start=1):
        expect(steps.nth(n)).to_contain_text(label)
        expect(steps.nth(n)).to_contain_text(who)
    expect(county.get_by_label("Move the case to")).to_have_count(0)
    snap(request, county, "closed")

    page.reload()
    expect(dashboard_figure(page, "Households at risk (open cases)")).to_have_text("0")
    expect(step_count(page, "closed")).to_have_text("1")
    expect(step_count(page, "assisted")).to_have_text("0")
    shot("dashboard-closed")
    assert [c.status.value for c in case_of(live_server, household_id)] == ["closed"]
    assert household_status(live_server, household_id) == HouseholdStatus.stable


# --- 2. the demo's books, then a planted discrepancy ----------------------------------------------------

def plant_accrual_without_a_link(live_server, coop_id) -> dict:
    """An accrual of 123.45 yuan to a household that has no link with the cooperative and
    no paid line behind it, appended to the ledger behind the application's back."""
    with live_server.app_context():
        registrar = Factory().user(role=Role.staff, email="registrar@example.com")
        h = create_household(registrar, {
            "file_no": "610426100099", "head_name": "赵小芳 Zhao Xiaofang",
            "id_number": with_check_digit("61042619900202002"), "province": "Shaanxi", "county": COUNTY,
            "township": "营盘镇 Yingpan", "village": "金米村 Jinmi", "members": 3, "working_members": 1,
            "enrolled_at": "2021-03-01", "consent": True})
        [entry] = ledger.append([LedgerEntry(kind=EntryKind.accrual, household_id=h.id, cooperative_id=coop_id,
                                             amount_fen=12_345)])
        db.session.commit()
        return {"household_id": h.id, "entry_id": entry.id}


def test_demo_books_reconcile_and_a_planted_accrual_is_listed(page, live_server, live_url, shot):
    with live_server.app_context():
        assert demo.seed()
        coops = db.session.execute(select(Cooperative.id, Cooperative.name).where(
            Cooperative.status == "verified").order_by(Cooperative.id)).all()
    assert len(coops) == 5

    log_in(page, live_url, "staff@demo.example", demo.PASSWORD)
    page.get_by_role("link", name="Audit", exact=True).first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Reconciliation")
    allocated = {}  # fen the demo's paid orders gave each cooperative's households
    for coop_id, name in coops:
        page.get_by_label("Cooperative").select_option(str(coop_id))
        page.get_by_role("button", name="Show").click()
        expect(page.get_by_role("heading", level=2, name=re.compile(re.escape(name)))).to_be_visible()
        expect(page.get_by_role("heading", name=re.compile(r"^Discrepancies"))).to_contain_text("(0)")
        expect(page.locator(".audit-ok")).to_have_text("No discrepancy found.")
        shown = page.locator("table.audit-figures").get_by_role("row", name=re.compile("^Allocated to households"))
        allocated[coop_id] = round(float(shown.get_by_role("cell").inner_text().strip("¥ ").replace(",", "")) * 100)
    shot("demo-books-balance")

    qinling_id = coops[0][0]
    planted = plant_accrual_without_a_link(live_server, qinling_id)
    page.get_by_label("Cooperative").select_option(str(qinling_id))
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_role("heading", name=re.compile(r"^Discrepancies"))).to_contain_text("(1)")
    expect(page.locator(".audit-ok")).to_have_count(0)
    found = page.locator("table.audit-discrepancies tbody tr")
    expect(found).to_have_count(1)
    expect(found).to_contain_text("Accrual without an approved link")
    expect(found).to_contain_text(f"ledger entry {planted['entry_id']}")
    expect(found.get_by_role("link", name=str(planted["household_id"]))).to_be_visible()
    books = page.locator("table.audit-figures")
    expect(books.get_by_role("row", name=re.compile("^Allocated to households"))).to_contain_text(
        f"¥{(allocated[qinling_id] + 12_345) / 100:,.2f}")  # the demo's accruals and the planted 123.45
    shot("planted-accrual-found")

    # The CSV of discrepancies says the same.
    with page.expect_download() as download:
        page.get_by_role("link", name="Discrepancies (CSV)").click()
    text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    assert text.splitlines()[1].startswith(f"accrual_without_approved_link,{planted['household_id']},"
                                           f"{planted['entry_id']},")

    # The planted entry was chained like any other: the whole ledger verifies, and the page says when.
    expect(page.locator(".audit-chain")).to_contain_text("never verified as a whole")
    with live_server.app_context():  # the demo's entries and the planted one
        entries = db.session.scalar(select(func.count()).select_from(LedgerEntry))
    page.get_by_role("button", name="Verify the whole ledger now").click()
    expect(flash(page)).to_contain_text(f"The ledger's hash chain is intact: {entries} entries verified.")
    expect(page.locator(".audit-chain")).to_contain_text("the whole chain was last verified on")
    expect(page.get_by_role("heading", name=re.compile(r"^Discrepancies"))).to_contain_text("(1)")
    shot("ledger-verified")
