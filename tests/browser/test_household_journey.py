"""One order from payment to the households' money, in Chromium on phones, CSRF on, each
person in a browser of their own using only the pages:

programme staff enrol a household; its cooperative proposes a 12.5 % share of every
sale; another staff member approves it; a buyer sees the share on the product page
and pays for 4 bags (¥103.60 -> ¥12.95 accrued, rounded down); the cooperative refunds
one bag at its order desk (the reversal, ¥3.24, leaves what 3 bags earn: ¥9.71), is
refused a payout above what it owes, and records ¥5.00 paid in cash with a photo of
the receipt; staff then see the household's ledger and the reconciliation add up
(sales = refunds + households + cooperative, allocated - paid out = owed) with no
discrepancy.
"""
import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from marketplace.extensions import db
from marketplace.households import ledger
from marketplace.households.models import EntryKind, Household, LedgerEntry, Payout
from marketplace.orders.models import Order
from tests.browser.test_buyer_journey import ADDRESS, log_in, member_page  # noqa: F401 - a fixture
from tests.conftest import Factory, jpeg_bytes, owner_of

pytestmark = pytest.mark.browser

COOP, PRODUCT = "Qinling Wood-ear Co-op", "秦岭黑木耳 Qinling black wood-ear"
FILE_NO, HEAD = "610426100021", "王大山 Wang Dashan"
HOUSEHOLD = {"File and card number (档案号)": FILE_NO, "Head of household": HEAD,
             "Identity number of the head": "610426198001010012", "County": "柞水县 Zhashui",
             "Township": "营盘镇 Yingpan", "Village": "金米村 Jinmi", "Members": "4", "Members able to work": "2",
             "Enrolled on": "2019-06-01"}


@pytest.fixture
def scene(live_server):
    """A cooperative selling wood-ear at ¥25.90, two programme staff members and a buyer."""
    with live_server.app_context():
        make = Factory()
        coop = make.coop(name=COOP)
        make.product(coop, title=PRODUCT, price_fen=2590, stock=20)
        return {"owner": owner_of(coop).email, "registrar": make.staff().email, "approver": make.staff().email,
                "buyer": make.user(name="Li Wei").email, "coop_id": coop.id}


def figure(page, label):
    return page.locator("table.audit-figures tr", has=page.get_by_role("rowheader", name=label, exact=True)
                        ).locator("td")


def enrol(staff, live_url, email):
    log_in(staff, live_url, email)
    staff.get_by_role("navigation", name="Main").get_by_role("link", name="Households").click()
    staff.get_by_role("link", name="Add a household").click()
    form = staff.locator("main form")
    for label, value in HOUSEHOLD.items():
        form.get_by_label(label, exact=True).fill(value)
    form.get_by_label("Province").select_option("Shaanxi")
    form.get_by_label("Status").select_option("monitored")
    form.get_by_label("The household consents to the use of its data").check()
    staff.shot("staff-enrols")
    form.get_by_role("button", name="Save").click()
    expect(staff.get_by_role("heading", level=1)).to_contain_text(HEAD)
    expect(staff.get_by_role("status")).to_contain_text(f"Household {FILE_NO} registered.")


def propose_share(coop, live_url, email):
    log_in(coop, live_url, email)
    coop.get_by_role("link", name="My cooperative").click()
    coop.get_by_role("link", name="Our households").click()
    form = coop.locator("form", has=coop.get_by_role("button", name="Propose"))
    form.get_by_label("The household's file and card number").fill(FILE_NO)
    form.get_by_label("Kind of link").select_option("supplier")
    form.get_by_label("A share of each sale").check()
    form.get_by_label("Share in percent (up to two decimals)").fill("12.5")
    form.get_by_label("Valid from").fill("2024-01-01")
    form.get_by_role("button", name="Propose").click()
    expect(coop.get_by_role("status")).to_contain_text("Link proposed. Programme staff will review it.")
    expect(coop.locator("main")).to_contain_text("Awaiting approval")
    coop.shot("coop-proposed")


def approve(staff, live_url, email):
    log_in(staff, live_url, email)
    staff.get_by_role("navigation", name="Main").get_by_role("link", name="Households").click()
    staff.get_by_role("link", name="Links to approve").click()
    proposal = staff.locator("article", has=staff.get_by_role("link", name=f"{HEAD} · {FILE_NO}"))
    expect(proposal).to_contain_text("12.5% of each sale")
    staff.shot("staff-approves")
    proposal.get_by_role("button", name="Approve").click()
    expect(staff.get_by_role("status")).to_contain_text("Link approved.")


def buy_four(page, live_url, email, shot):
    log_in(page, live_url, email)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="All goods").click()
    page.locator("main").get_by_role("link", name=PRODUCT).click()
    expect(page.locator(".hh-share")).to_contain_text("12.5% of this sale goes to 1 enrolled household")
    page.locator(".buybox").get_by_label("Quantity").fill("4")
    page.get_by_role("button", name="Add to cart").click()
    page.locator("main").get_by_role("link", name="Check out").click()
    for label, value in ADDRESS.items():
        page.get_by_label(label, exact=True).fill(value)
    page.get_by_role("button", name="Place order and pay").click()
    page.get_by_role("button", name="Pay ¥103.60 (test)").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you! Your payment arrived.")
    shot("buyer-paid")


def refund_one(coop, order_id):
    coop.get_by_role("link", name="My cooperative").click()
    coop.get_by_role("link", name="Order desk").click()
    coop.get_by_role("link", name=f"#{order_id}", exact=True).click()
    by_product = coop.locator("form", has=coop.get_by_role("button", name="Refund these goods"))
    by_product.get_by_label(f"{PRODUCT} (up to 4)").fill("1")
    by_product.get_by_label("Reason (the buyer sees it)").fill("One bag got damp")
    by_product.get_by_role("button", name="Refund these goods").click()
    expect(coop.get_by_role("status")).to_contain_text("Refunded. The money goes back to the buyer's account.")
    coop.shot("coop-refunded-one")


def pay_out(coop, receipt_path):
    coop.get_by_role("link", name="My cooperative").click()
    coop.get_by_role("link", name="Our households").click()
    expect(coop.locator("table.hh-coop-households")).to_contain_text("¥9.71")
    coop.get_by_role("link", name=HEAD).click()
    expect(coop.locator(".hh-owed")).to_have_text("¥9.71")
    form = coop.locator("form", has=coop.get_by_role("button", name="Record payout"))
    form.get_by_label("Amount paid in yuan").fill("20.00")
    form.get_by_label("How it was paid").select_option("cash")
    form.get_by_role("button", name="Record payout").click()
    expect(coop.locator("main .field.has-error")).to_contain_text("more than the cooperative owes this household")
    coop.shot("coop-payout-refused")
    form = coop.locator("form", has=coop.get_by_role("button", name="Record payout"))
    form.get_by_label("Amount paid in yuan").fill("5.00")
    form.get_by_label("How it was paid").select_option("cash")
    form.get_by_label("Reference number (optional)").fill("R-2026-001")
    form.get_by_label("Photo of the receipt (optional)").set_input_files(str(receipt_path))
    form.get_by_role("button", name="Record payout").click()
    expect(coop.get_by_role("status")).to_contain_text("Payout recorded.")
    expect(coop.locator(".hh-owed")).to_have_text("¥4.71")
    payouts = coop.locator("table.hh-payouts tbody tr")
    expect(payouts).to_have_count(1)
    expect(payouts).to_contain_text("¥5.00")
    expect(payouts).to_contain_text("R-2026-001")
    expect(payouts.get_by_role("link", name="Photo")).to_be_visible()
    coop.shot("coop-paid-out")


def reconcile(staff):
    staff.get_by_role("navigation", name="Main").get_by_role("link", name="Households").click()
    staff.get_by_role("link", name=FILE_NO).click()
    ledger_rows = staff.locator("table.hh-ledger tbody tr")
    expect(ledger_rows).to_have_count(3)  # newest first
    expect(ledger_rows.locator(".hh-amount")).to_have_text(["-¥5.00", "-¥3.24", "¥12.95"])
    expect(staff.locator("section", has=staff.get_by_role("heading", name="Owed by each cooperative"))
           ).to_contain_text("¥4.71")
    staff.shot("staff-household")
    staff.get_by_role("navigation", name="Main").get_by_role("link", name="Audit").click()
    staff.get_by_label("Cooperative").select_option(label=COOP)
    staff.get_by_role("button", name="Show").click()
    for label, amount in (("Sales paid", "¥103.60"), ("Refunded", "-¥25.90"), ("Allocated to households", "¥9.71"),
                          ("Reversals the cooperative absorbed (already paid out)", "¥0.00"),
                          ("Retained by the cooperative", "¥67.99"), ("Paid out to households", "¥5.00"),
                          ("Still owed to households at the end of the period", "¥4.71")):
        expect(figure(staff, label)).to_have_text(amount)
    expect(staff.locator("main")).to_contain_text("No discrepancy found.")
    household_row = staff.locator("main tr", has=staff.get_by_role("cell", name=FILE_NO, exact=True))
    expect(household_row).to_contain_text("¥9.71")
    expect(household_row).to_contain_text("¥5.00")
    expect(household_row).to_contain_text("¥4.71")
    staff.shot("staff-reconciliation")


def test_an_order_reaches_the_household_is_partly_refunded_paid_out_and_reconciles(
        page, live_server, live_url, shot, scene, member_page, tmp_path):
    registrar = member_page()
    enrol(registrar, live_url, scene["registrar"])
    coop = member_page()
    propose_share(coop, live_url, scene["owner"])
    approve(member_page(), live_url, scene["approver"])

    buy_four(page, live_url, scene["buyer"], shot)
    with live_server.app_context():
        order_id = db.session.scalar(select(Order.id))
    page.get_by_role("link", name="All my orders").click()
    page.get_by_role("link", name=f"Order {order_id}", exact=True).click()
    expect(page.locator(".hh-returned")).to_contain_text("¥12.95 of this order went to enrolled rural households.")
    shot("buyer-order-returned")

    refund_one(coop, order_id)
    page.reload()
    expect(page.locator(".hh-returned")).to_contain_text("¥9.71 of this order went to enrolled rural households.")

    receipt = tmp_path / "receipt.jpg"
    receipt.write_bytes(jpeg_bytes((640, 480)))
    pay_out(coop, receipt)
    reconcile(registrar)

    with live_server.app_context():  # what the pages showed is what the ledger holds
        household = db.session.scalar(select(Household).where(Household.file_no == FILE_NO))
        entries = db.session.execute(select(LedgerEntry.kind, LedgerEntry.amount_fen).where(
            LedgerEntry.household_id == household.id).order_by(LedgerEntry.seq)).all()
        assert entries == [(EntryKind.accrual, 1295), (EntryKind.reversal, -324), (EntryKind.payout, -500)]
        assert db.session.scalar(select(Payout.receipt_key)) is not None
        assert ledger.verify() == {"ok": True, "entries": 3}
