"""The household pages: staff register and household page, link approval, and the
cooperative's side (its own households only, masked, payouts within the balance)."""
import io

import pytest
from sqlalchemy import func, select

from marketplace.auth.models import Role
from marketplace.coops.models import MemberRole, Membership
from marketplace.core.audit import AuditRecord
from marketplace.extensions import db
from marketplace.households import identity, ledger
from marketplace.households.models import BenefitLink, Household, LedgerEntry, LinkStatus, Payout
from tests.conftest import PASSWORD, jpeg_bytes, main_html, owner_of
from tests.households.test_ledger import approved_link, household, paid_order


def client_for(app, user):
    """A separate signed-in client per user, so tests can switch between people."""
    client = app.test_client()
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302
    return client


def count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def full_number(h):
    return identity.decrypt(h.id_number_encrypted)


@pytest.fixture
def linked(make):
    """Cooperative A linked to h1 (15% of every sale, with one paid order), B to h2."""
    staff = make.staff()
    h1, h2 = household(staff, 1), household(staff, 2)
    db.session.commit()
    coop_a, coop_b = make.coop(), make.coop()
    product = make.product(coop_a, price_fen=3333, stock=100)
    approved_link(make, coop_a, h1.id, share_bp=1500)
    approved_link(make, coop_b, h2.id, share_bp=1000)
    paid_order(make, product, 3)  # 9999 fen: h1 is owed 1499
    return staff, coop_a, coop_b, h1, h2


# --- access control -----------------------------------------------------------

@pytest.mark.parametrize("path", ["/staff/households", "/staff/households/new", "/staff/households/import",
                                  "/staff/households/links", "/staff/households/1"])
def test_buyers_and_cooperative_members_get_403_on_staff_pages(app, make, linked, path):
    _, coop_a, *_ = linked
    for user in (make.user(), owner_of(coop_a)):
        assert client_for(app, user).get(path).status_code == 403
    assert app.test_client().get(path).status_code == 302  # to the login page
    assert client_for(app, linked[0]).get(path).status_code == 200


def test_only_owners_and_managers_open_the_cooperative_pages(app, make, linked):
    _, coop_a, *_ = linked
    host = make.user()
    db.session.add(Membership(user_id=host.id, cooperative_id=coop_a.id, role=MemberRole.host))
    db.session.commit()
    for user in (make.user(), make.staff(), host):
        assert client_for(app, user).get("/my/households").status_code == 403


def test_a_cooperative_sees_only_its_households_and_never_a_full_number(app, make, linked):
    _, coop_a, coop_b, h1, h2 = linked
    client = client_for(app, owner_of(coop_a))
    proposed = client.post("/my/households/links", data={"file_no": h2.file_no, "kind": "wage", "rule": "share",
                                                         "product_id": "", "share_percent": "1",
                                                         "valid_from": "2021-01-01"})
    assert proposed.status_code == 302
    pages = [client.get("/my/households"), client.get(f"/my/households/{h1.id}"),
             client.post(f"/my/households/{h1.id}/payouts", data={"amount": "99999", "method": "cash"})]
    html = " ".join(p.get_data(as_text=True) for p in pages)
    assert h1.head_name in html and h1.id_number_masked in html and "¥14.99" in html
    assert full_number(h1) not in html and full_number(h2) not in html
    assert h2.file_no in html and h2.head_name not in html  # a proposal shows the typed number, no name
    assert client.get(f"/my/households/{h2.id}").status_code == 404
    pay_h2 = client.post(f"/my/households/{h2.id}/payouts", data={"amount": "1", "method": "cash"})
    assert pay_h2.status_code == 404


def test_each_unmasking_writes_exactly_one_audit_record(app, linked):
    staff, _, _, h1, _ = linked
    client = client_for(app, staff)
    page = client.get(f"/staff/households/{h1.id}")
    assert full_number(h1) not in page.get_data(as_text=True) and h1.id_number_masked in main_html(page)
    unmasked = lambda: count(AuditRecord, AuditRecord.action == "household.unmask",  # noqa: E731
                             AuditRecord.object_id == h1.id)
    assert unmasked() == 0
    for clicks in (1, 2):
        response = client.post(f"/staff/households/{h1.id}/unmask")
        assert response.status_code == 200 and full_number(h1) in main_html(response)
        assert response.headers["Cache-Control"] == "no-store"
        assert unmasked() == clicks
    assert full_number(h1) not in client.get(f"/staff/households/{h1.id}").get_data(as_text=True)


# --- the staff register ---------------------------------------------------------

def _form(**overrides):
    data = {"file_no": "6104269999", "head_name": "Zhao Lan",
            "id_number": identity.with_check_digit("61042619700505123"),
            "province": "Shaanxi", "county": "Zhashui", "township": "Yingpan", "village": "Zhuxi",
            "members": "5", "working_members": "3", "status": "monitored", "consent": "y",
            "enrolled_at": "2019-06-01"}
    return {**data, **overrides}


def test_create_shows_errors_beside_fields_and_changes_nothing(app, make):
    client = client_for(app, make.staff())
    bad = client.post("/staff/households/new", data=_form(id_number="610426197005051230"))
    assert bad.status_code == 422 and 'id="id_number-err"' in main_html(bad)
    assert count(Household) == 0 and count(AuditRecord, AuditRecord.action == "household.create") == 0
    good = client.post("/staff/households/new", data=_form())
    assert good.status_code == 302 and count(Household) == 1
    again = client.post("/staff/households/new", data=_form(head_name="Someone Else"))
    assert again.status_code == 409 and "already registered" in main_html(again) and count(Household) == 1


def test_edit_keeps_the_identity_number_when_left_empty(app, make):
    staff = make.staff()
    h = household(staff, 7)
    db.session.commit()
    number = full_number(h)
    client = client_for(app, staff)
    bad = client.post(f"/staff/households/{h.id}/edit", data=_form(file_no=h.file_no, id_number="", members="2",
                                                                   working_members="3"))
    assert bad.status_code == 422 and 'id="working_members-err"' in main_html(bad)
    ok = client.post(f"/staff/households/{h.id}/edit",
                     data=_form(file_no=h.file_no, id_number="", village="Xigou"))
    assert ok.status_code == 302
    db.session.refresh(h)
    assert (h.village, full_number(h)) == ("Xigou", number)


def test_register_filters_and_pages(app, make):
    staff = make.staff()
    for n in range(1, 31):
        household(staff, n)
    db.session.commit()
    db.session.execute(db.update(Household).where(Household.file_no == "610426000007").values(county="Shanyang"))
    db.session.commit()
    client = client_for(app, staff)
    first = main_html(client.get("/staff/households"))
    assert "30 households" in first and "Page 1 of 2" in first
    assert "Head 7<" in main_html(client.get("/staff/households?county=Shanyang"))
    assert "Head 8<" not in main_html(client.get("/staff/households?county=Shanyang"))
    by_name = main_html(client.get("/staff/households?q=head+12"))
    assert "Head 12<" in by_name and "1 household" in by_name
    assert "0 households" in main_html(client.get("/staff/households?status=exited"))
    assert "1 household" in main_html(client.get("/staff/households?q=000012"))


def test_register_list_query_count_does_not_grow_with_rows(app, make, count_queries):
    staff = make.staff()
    client = client_for(app, staff)
    counts = []
    for start, end in ((1, 3), (3, 40)):
        for n in range(start, end):
            household(staff, n)
        db.session.commit()
        with count_queries() as q:
            assert client.get("/staff/households").status_code == 200
        counts.append(q.count)
    assert counts[0] == counts[1], counts


def test_household_page_shows_links_ledger_balances_and_income(app, linked):
    staff, coop_a, _, h1, _ = linked
    html = main_html(client_for(app, staff).get(f"/staff/households/{h1.id}"))
    assert coop_a.name in html and "¥14.99" in html  # owed, and the accrual in the ledger
    assert "15% of each sale" in html and "Approved" in html
    assert '<svg class="hh-chart"' in html and "<title id=\"income-chart-title\">" in html
    assert "¥3.74" in html  # 1499 / 4 members, this year and the last 12 months


# --- links: proposed by the cooperative, approved by another person ----------

def _proposal(h, **overrides):
    return {"file_no": h.file_no, "kind": "supplier", "product_id": "", "rule": "share", "share_percent": "12.5",
            "fixed_yuan": "", "valid_from": "2021-01-01", **overrides}


def test_proposing_through_the_page_converts_percent_and_yuan(app, make):
    staff = make.staff()
    h1, h2 = household(staff, 1), household(staff, 2)
    db.session.commit()
    coop = make.coop()
    product = make.product(coop)
    client = client_for(app, owner_of(coop))
    assert client.post("/my/households/links", data=_proposal(h1)).status_code == 302
    fixed = _proposal(h2, rule="fixed", fixed_yuan="1.50", product_id=str(product.id))
    assert client.post("/my/households/links", data=fixed).status_code == 302
    rules = db.session.execute(select(BenefitLink.share_bp, BenefitLink.fixed_fen_per_unit, BenefitLink.product_id)
                               .order_by(BenefitLink.id)).all()
    assert rules == [(1250, None, None), (None, 150, product.id)]
    unknown = client.post("/my/households/links", data=_proposal(h1, file_no="0000-missing"))
    assert unknown.status_code == 422 and "No enrolled household has this file number" in main_html(unknown)
    too_precise = client.post("/my/households/links", data=_proposal(h1, share_percent="12.345"))
    assert too_precise.status_code == 422 and 'id="share_percent-err"' in main_html(too_precise)
    assert count(BenefitLink) == 2


def test_a_proposer_cannot_approve_their_own_link_but_another_staff_member_can(app, make):
    proposer = make.staff()  # a staff member who also runs a cooperative
    coop = make.coop(owner=proposer)
    h = household(make.staff(), 1)
    db.session.commit()
    client = client_for(app, proposer)
    assert client.post("/my/households/links", data=_proposal(h)).status_code == 302
    link = db.session.scalar(select(BenefitLink))
    queue = main_html(client.get("/staff/households/links"))
    assert h.file_no in queue and coop.name in queue and "12.5% of each sale" in queue
    refused = client.post(f"/staff/households/links/{link.id}/approve", follow_redirects=True)
    assert "Someone other than the proposer must approve a link." in main_html(refused)
    db.session.refresh(link)
    assert link.status == LinkStatus.proposed
    other = client_for(app, make.staff())
    assert other.post(f"/staff/households/links/{link.id}/approve", data={"note": "checked"}).status_code == 302
    db.session.refresh(link)
    assert link.status == LinkStatus.approved and link.note == "checked"


# --- payouts -------------------------------------------------------------------

def test_a_payout_above_the_balance_shows_409_and_changes_nothing(app, linked):
    _, coop_a, _, h1, _ = linked
    client = client_for(app, owner_of(coop_a))
    entries = count(LedgerEntry)
    over = client.post(f"/my/households/{h1.id}/payouts", data={"amount": "15.00", "method": "cash"})
    assert over.status_code == 409
    assert "more than the cooperative owes this household (¥14.99)" in main_html(over)
    assert 'id="amount-err"' in main_html(over)
    assert (count(Payout), count(LedgerEntry), ledger.balance(h1.id, coop_a.id)) == (0, entries, 1499)


def test_a_payout_with_a_receipt_photo_is_recorded(app, linked):
    _, coop_a, _, h1, _ = linked
    client = client_for(app, owner_of(coop_a))
    response = client.post(f"/my/households/{h1.id}/payouts", content_type="multipart/form-data", data={
        "amount": "10.00", "method": "mobile_payment", "reference": "WX-2026-001", "paid_on": "2026-01-05",
        "receipt": (io.BytesIO(jpeg_bytes()), "receipt.jpg")})
    assert response.status_code == 302
    payout = db.session.scalar(select(Payout))
    assert (payout.amount_fen, payout.reference, payout.receipt_key is not None) == (1000, "WX-2026-001", True)
    assert ledger.balance(h1.id, coop_a.id) == 499
    page = main_html(client.get(f"/my/households/{h1.id}"))
    assert "¥4.99" in page and "WX-2026-001" in page and "Mobile payment" in page


def test_a_bad_receipt_is_refused_beside_its_field(app, linked):
    _, coop_a, _, h1, _ = linked
    client = client_for(app, owner_of(coop_a))
    response = client.post(f"/my/households/{h1.id}/payouts", content_type="multipart/form-data", data={
        "amount": "1.00", "method": "cash", "receipt": (io.BytesIO(b"not an image"), "r.jpg")})
    assert response.status_code == 422 and 'id="receipt-err"' in main_html(response)
    assert count(Payout) == 0


def test_staff_role_is_not_enough_for_a_cooperative_page(app, make):
    staff = make.user(role=Role.staff)
    assert client_for(app, staff).get("/my/households").status_code == 403
