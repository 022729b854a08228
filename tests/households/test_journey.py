"""One order through the pages each person uses (Flask test client): staff enrol two
households, the cooperative proposes a share and a per-unit link that another staff
member approves, a buyer pays an order of 4 units, the cooperative refunds one unit
and records a payout with a photo of the receipt, and staff see every figure add up
to the fen on the household page, the order receipt and the reconciliation page.

Figures (¥25.90 a bag, 4 bags = ¥103.60): a 12.5 % share of the order -> ¥12.95
(floor), ¥0.50 per unit -> ¥2.00, the cooperative keeps ¥88.65. One bag refunded
(¥25.90): the accruals fall to what 3 bags would have earned, ¥9.71 and ¥1.50, so the
reversals are ¥3.24 and ¥0.50. A ¥5.00 payout leaves ¥4.71 owed to the first household.
"""
import io
import re

from sqlalchemy import select

from marketplace.core.clock import local_today
from marketplace.extensions import db
from marketplace.households import ledger
from marketplace.households.models import BenefitLink, EntryKind, Household, LedgerEntry, Payout
from marketplace.orders.models import Order
from tests.conftest import jpeg_bytes, main_html, owner_of
from tests.households.test_views import client_for

PRICE, UNITS = 2590, 4
TODAY = local_today().isoformat()


def enrol_form(file_no, head, id_digits):
    from marketplace.households.identity import with_check_digit

    return {"file_no": file_no, "head_name": head, "id_number": with_check_digit(id_digits), "province": "Shaanxi",
            "county": "Zhashui", "township": "Yingpan", "village": "Zhuxi", "members": "4",
            "working_members": "2", "status": "monitored", "consent": "y", "enrolled_at": "2019-06-01"}


def figure(html, label):
    """The amount in the table row headed `label`, in fen (¥1,234.56 -> 123456)."""
    cell = re.search(re.escape(label) + r"</th>\s*<td>(-?)¥([\d,]+)\.(\d\d)</td>", html)
    assert cell, f"no row {label!r}"
    fen = int(cell.group(2).replace(",", "")) * 100 + int(cell.group(3))
    return -fen if cell.group(1) else fen


def entries(household_id):
    db.session.expire_all()
    return [(e.kind, e.amount_fen) for e in db.session.scalars(
        select(LedgerEntry).where(LedgerEntry.household_id == household_id).order_by(LedgerEntry.seq))]


def enrol_and_link(app, make, coop, product):
    """Staff enrol two households; the cooperative proposes, another person approves."""
    registrar, approver = make.staff(), make.staff()
    staff = client_for(app, registrar)
    for form in (enrol_form("6104261001", "Wang Fang", "61042619800101101"),
                 enrol_form("6104261002", "Li Qiang", "61042619800101102")):
        assert staff.post("/staff/households/new", data=form).status_code == 302
    h1, h2 = (db.session.scalar(select(Household).where(Household.file_no == n)) for n in ("6104261001", "6104261002"))
    owner = client_for(app, owner_of(coop))
    proposals = [{"file_no": h1.file_no, "kind": "supplier", "product_id": "", "rule": "share",
                  "share_percent": "12.5", "valid_from": "2024-01-01"},
                 {"file_no": h2.file_no, "kind": "wage", "product_id": str(product.id), "rule": "fixed",
                  "fixed_yuan": "0.50", "valid_from": "2024-01-01"}]
    for proposal in proposals:
        assert owner.post("/my/households/links", data=proposal).status_code == 302
    queue = client_for(app, approver)
    for link in db.session.scalars(select(BenefitLink).order_by(BenefitLink.id)):
        assert queue.post(f"/staff/households/links/{link.id}/approve", data={"note": "checked the card"}
                          ).status_code == 302
    return registrar, h1, h2, owner


def buy(app, buyer, product):
    client = client_for(app, buyer)
    client.post("/cart/add", data={"product_id": product.id, "quantity": UNITS})
    placed = client.post("/checkout", data={"saved_address": "new", "name": "Li Wei", "phone": "13800138000",
                                            "province": "Beijing", "city": "Beijing", "address": "12 Chaoyang Road"})
    assert placed.status_code == 302, main_html(placed)
    checkout_id = int(re.search(r"/checkouts/(\d+)/pay", placed.headers["Location"]).group(1))
    assert client.post(f"/checkouts/{checkout_id}/demo-pay").status_code == 302
    order = db.session.scalar(select(Order).where(Order.checkout_id == checkout_id))
    return client, order


def test_an_order_from_payment_to_accruals_refund_payout_and_reconciliation(app, make):
    coop = make.coop(name="Qinling Wood-ear Co-op")
    product = make.product(coop, title="Qinling black wood-ear", price_fen=PRICE, stock=20)
    registrar, h1, h2, owner = enrol_and_link(app, make, coop, product)
    buyer_client, order = buy(app, make.user(), product)

    # paid: one accrual per link, the rule frozen on it, the rest retained
    assert entries(h1.id) == [(EntryKind.accrual, 1295)] and entries(h2.id) == [(EntryKind.accrual, 200)]
    assert "¥14.95 of this order went to enrolled rural households" in main_html(
        buyer_client.get(f"/orders/{order.id}"))
    staff = client_for(app, registrar)
    page = main_html(staff.get(f"/staff/households/{h1.id}"))
    assert "¥12.95" in page and "12.5%" in page and coop.name in page

    # one bag refunded at the order desk: the reversals undo exactly that bag's share
    line = order.lines[0]
    refunded = owner.post(f"/my/orders/{order.id}/refund/lines", data={f"qty_{line.id}": "1", "reason": "damp"})
    assert refunded.status_code == 302
    assert entries(h1.id) == [(EntryKind.accrual, 1295), (EntryKind.reversal, -324)]  # 971 = 12.5 % of ¥77.70
    assert entries(h2.id) == [(EntryKind.accrual, 200), (EntryKind.reversal, -50)]  # 150 = 3 x ¥0.50
    assert "¥11.21 of this order went to enrolled rural households" in main_html(
        buyer_client.get(f"/orders/{order.id}"))

    # the cooperative pays out cash with a photo of the receipt, never more than it owes
    too_much = owner.post(f"/my/households/{h1.id}/payouts", data={
        "amount": "9.72", "method": "cash", "reference": "R-2026-001", "paid_on": TODAY})
    assert too_much.status_code == 409 and "more than the cooperative owes" in main_html(too_much)
    paid = owner.post(f"/my/households/{h1.id}/payouts", data={
        "amount": "5.00", "method": "cash", "reference": "R-2026-001", "paid_on": TODAY,
        "receipt": (io.BytesIO(jpeg_bytes()), "receipt.jpg")}, content_type="multipart/form-data")
    assert paid.status_code == 302
    payout = db.session.scalar(select(Payout))
    assert (payout.amount_fen, payout.reference, payout.receipt_key is not None) == (500, "R-2026-001", True)
    assert entries(h1.id)[-1] == (EntryKind.payout, -500)
    coop_page = main_html(owner.get(f"/my/households/{h1.id}"))
    assert "¥4.71" in coop_page and "R-2026-001" in coop_page and "Photo" in coop_page

    # staff: the household page and the reconciliation add up, with no discrepancy
    page = main_html(staff.get(f"/staff/households/{h1.id}"))
    assert "¥4.71" in page and "-¥3.24" in page and "-¥5.00" in page
    books = main_html(staff.get(f"/staff/audit?cooperative_id={coop.id}"))
    figures = {label: figure(books, label) for label in (
        "Sales paid", "Refunded", "Allocated to households", "Reversals the cooperative absorbed (already paid out)",
        "Retained by the cooperative", "Paid out to households", "Still owed to households at the end of the period")}
    assert figures == {"Sales paid": 10360, "Refunded": -2590, "Allocated to households": 1121,
                       "Reversals the cooperative absorbed (already paid out)": 0,
                       "Retained by the cooperative": 6649, "Paid out to households": 500,
                       "Still owed to households at the end of the period": 621}
    assert figures["Sales paid"] + figures["Refunded"] == 1121 + 0 + 6649  # sales = households + cooperative
    assert 1121 - 500 == 621  # allocated - paid out = owed
    assert "No discrepancy found." in books
    assert ledger.verify() == {"ok": True, "entries": 5}
    assert app.test_cli_runner().invoke(args=["ledger", "verify"]).output.strip() == "ok: 5 entries, chain intact"
