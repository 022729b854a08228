"""The audit workspace: reconciliation (page and API) with a planted discrepancy, CSV
and XLSX exports (an empty period is a valid file with headers and no rows), the
sample of paid lines with their trail, and the audit log search."""
import csv
import io
from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from openpyxl import load_workbook

from marketplace.core.clock import local_today
from marketplace.extensions import db
from marketplace.households.services import record_payout
from marketplace.monitoring import audit_views, cases
from marketplace.monitoring.audit_views import DISCREPANCY_HEADERS, ROW_HEADERS
from tests.conftest import main_html, owner_of
from tests.households.test_api import error
from tests.households.test_ledger import approved_link, paid_order
from tests.monitoring.test_records import assign, household_in
from tests.monitoring.test_views import client_for

TODAY = local_today()  # the app's periods are Asia/Shanghai days
PERIOD = f"from={(TODAY - timedelta(days=1)).isoformat()}&to={TODAY.isoformat()}"
EMPTY = "from=2019-01-01&to=2019-01-31"  # before the link's first day: no data at all


@pytest.fixture
def books(make):
    """A cooperative in Zhashui paying 10 % to h: 3 paid lines of 1,000 fen, one
    payout of 100 with a reference; staff of another county; an admin."""
    from marketplace.auth.models import Role

    staff, admin, other = make.staff(), make.user(role=Role.admin), make.staff()
    assign(other, "Elsewhere", "county")
    h = household_in(staff, 1)
    db.session.commit()
    coop = make.coop()
    product = make.product(coop, price_fen=1000, stock=50)
    approved_link(make, coop, h.id, share_bp=1000)
    for _ in range(3):
        paid_order(make, product, 1)
    record_payout(owner_of(coop), coop, {"household_id": h.id, "amount_fen": 100, "method": "cash",
                                         "reference": "R-1"})
    db.session.commit()
    return SimpleNamespace(staff=staff, admin=admin, other=other, h=h, coop=coop, owner=owner_of(coop))


def plant(books):
    """A payout without a reference: the discrepancy the reconciliation must find."""
    record_payout(books.owner, books.coop, {"household_id": books.h.id, "amount_fen": 50, "method": "cash"})
    db.session.commit()


def test_reconciliation_api_balances_and_finds_a_planted_discrepancy(api, books):
    path = f"/audit/reconciliation?cooperative_id={books.coop.id}&{PERIOD}"
    body = api("get", path, user=books.staff).get_json()
    assert (body["paid_fen"], body["allocated_fen"], body["retained_fen"], body["paid_out_fen"],
            body["owed_fen"]) == (3000, 300, 2700, 100, 200)
    assert all(body[k] == body[f"{k}_fen"] for k in ("paid", "allocated", "retained", "paid_out", "owed"))
    assert body["discrepancies"] == [] and body["currency"] == "CNY" and body["from"] < body["to"]
    assert (body["ledger_verified_at"], body["ledger_verified_entries"]) == (None, 0)  # never verified as a whole
    plant(books)
    found = api("get", path, user=books.staff).get_json()["discrepancies"]
    assert [d["kind"] for d in found] == ["payout_without_reference"] and found[0]["household_id"] == books.h.id
    error(api("get", f"/audit/reconciliation?cooperative_id={books.coop.id}&from=2026-05-02&to=2026-05-01",
              user=books.staff), 422, "invalid_period")
    error(api("get", "/audit/reconciliation?cooperative_id=99999", user=books.staff), 404)
    error(api("get", f"/audit/reconciliation?cooperative_id={books.coop.id}", user=books.other), 404)
    error(api("get", "/audit/reconciliation", user=books.staff), 422)


def test_reconciliation_page_and_the_planted_discrepancy(app, books):
    web = client_for(app, books.staff)
    url = f"/staff/audit?cooperative_id={books.coop.id}&{PERIOD}"
    page = main_html(web.get(url))
    assert "No discrepancy found." in page and "¥27.00" in page and books.h.file_no in page
    plant(books)
    page = main_html(web.get(url))
    assert "Payout without a reference" in page and "No discrepancy found." not in page
    assert web.get(f"/staff/audit?cooperative_id={books.coop.id}&from=2026-13-01").status_code == 422
    assert client_for(app, books.other).get(url).status_code == 404


def _csv(response):
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    return list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))


def test_csv_exports_with_data_and_for_an_empty_period(app, books):
    plant(books)
    web = client_for(app, books.staff)
    base = f"/staff/audit/export.csv?cooperative_id={books.coop.id}"
    rows = _csv(web.get(f"{base}&{PERIOD}"))
    assert rows[0] == list(ROW_HEADERS)
    assert rows[1:] == [[str(books.h.id), books.h.file_no, "Zhashui", "Jinmi", "300", "150", "150"]]
    found = _csv(web.get(f"{base}&{PERIOD}&part=discrepancies"))
    assert found[0] == list(DISCREPANCY_HEADERS) and [r[0] for r in found[1:]] == ["payout_without_reference"]
    assert _csv(web.get(f"{base}&{EMPTY}")) == [list(ROW_HEADERS)]
    assert _csv(web.get(f"{base}&{EMPTY}&part=discrepancies")) == [list(DISCREPANCY_HEADERS)]


def test_xlsx_export_with_data_and_for_an_empty_period(app, books):
    web = client_for(app, books.staff)
    base = f"/staff/audit/export.xlsx?cooperative_id={books.coop.id}"
    response = web.get(f"{base}&{EMPTY}")
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    book = load_workbook(io.BytesIO(response.get_data()), read_only=True)
    assert book.sheetnames == ["Summary", "Households", "Discrepancies"]
    assert [list(r) for r in book["Households"].iter_rows(values_only=True)] == [list(ROW_HEADERS)]
    assert [list(r) for r in book["Discrepancies"].iter_rows(values_only=True)] == [list(DISCREPANCY_HEADERS)]
    assert dict(book["Summary"].iter_rows(values_only=True))["paid_fen"] == 0
    full = load_workbook(io.BytesIO(web.get(f"{base}&{PERIOD}").get_data()), read_only=True)
    summary = dict(full["Summary"].iter_rows(values_only=True))
    assert (summary["paid_fen"], summary["owed_fen"]) == (3000, 200)
    assert list(full["Households"].iter_rows(values_only=True))[1][-1] == 200
    assert client_for(app, books.other).get(f"{base}&{EMPTY}").status_code == 404


def test_spreadsheet_formulas_are_written_as_text():
    assert audit_views._cell("=HYPERLINK(1)") == "'=HYPERLINK(1)" and audit_views._cell("-3") == "'-3"
    assert audit_views._cell("Jinmi") == "Jinmi" and audit_views._cell(-3) == -3


def test_sample_shows_each_lines_trail_and_a_seed_redraws_it(app, books, count_queries):
    start, end = TODAY - timedelta(days=1), TODAY
    with count_queries() as q:
        trails = audit_views.sample_trails(books.coop.id, start, end, 2, seed=7)
    assert q.count == 8 and len(trails) == 2
    assert audit_views.sample_trails(books.coop.id, start, end, 2, seed=7)[0]["line"].id == trails[0]["line"].id
    trail = trails[0]
    assert trail["line"].provider == "demo" and [e.kind.value for e in trail["entries"]] == ["accrual"]
    assert trail["households"][0]["owed_fen"] == 200 and trail["households"][0]["payouts"][0].reference == "R-1"
    assert audit_views.sample_trails(books.coop.id, date(2021, 1, 1), date(2021, 1, 31), 5, 1) == []
    web = client_for(app, books.staff)
    page = main_html(web.get(f"/staff/audit/sample?cooperative_id={books.coop.id}&{PERIOD}&size=3&seed=42"))
    assert page.count('class="panel audit-trail"') == 3 and "seed 42" in page and "R-1" in page
    assert web.get(f"/staff/audit/sample?cooperative_id={books.coop.id}&size=500").status_code == 422


def test_audit_log_search_by_person_object_action_and_days(app, api, books):
    case = cases.open_case(books.h, [{"rule": "risk_event", "detail": {}}])
    cases.transition(books.admin, case, "village_review", "visited the family")
    db.session.commit()
    by_person = api("get", f"/audit/log?email={books.admin.email.upper()}", user=books.staff).get_json()
    assert {r["actor_email"] for r in by_person["items"]} == {books.admin.email}
    assert [r["action"] for r in by_person["items"]][0] == "case.village_review"
    by_person = api("get", f"/audit/log?email={books.admin.email}&action=case.", user=books.staff).get_json()
    assert [r["action"] for r in by_person["items"]] == ["case.village_review"]
    assert by_person["items"][0]["after"]["comment"] == "visited the family"
    by_object = api("get", f"/audit/log?object_type=cases&object_id={case.id}", user=books.staff).get_json()
    assert [r["action"] for r in by_object["items"]] == ["case.village_review", "case.open"]
    assert by_object["items"][1]["actor_email"] is None  # the scan: no person
    assert api("get", "/audit/log?action=payout.", user=books.staff).get_json()["total"] == 1
    assert api("get", "/audit/log?action=payout.&from=2021-01-01&to=2021-12-31",
               user=books.staff).get_json()["total"] == 0
    paged = api("get", "/audit/log?per_page=2&page=2", user=books.staff).get_json()
    assert paged["page"] == 2 and len(paged["items"]) == 2 and paged["total"] > 4
    error(api("get", "/audit/log", user=books.other), 403, "programme_staff_only")
    error(api("get", "/audit/log?from=yesterday", user=books.staff), 422)
    web = client_for(app, books.staff)
    page = main_html(web.get(f"/staff/audit/log?object_type=cases&object_id={case.id}"))
    assert "visited the family" in page and "case.open" in page
    assert web.get("/staff/audit/log?object_id=abc").status_code == 422
    assert client_for(app, books.other).get("/staff/audit/log").status_code == 403
