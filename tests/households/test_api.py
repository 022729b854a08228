"""The households, benefit links, ledger, income, payouts and audit API (API.md,
"Households, ledger, audit"): happy paths, shapes and who may see what."""
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from marketplace.core.audit import AuditRecord
from marketplace.extensions import db
from marketplace.households.identity import with_check_digit
from marketplace.households.models import LedgerEntry
from tests.conftest import owner_of
from tests.households.test_ledger import _tamper, approved_link, household, paid_order

ENTRY_KEYS = {"id", "kind", "amount_fen", "cooperative_id", "order_line_id", "created_at", "hash"}
HOUSEHOLD_KEYS = {"id", "file_no", "head_name", "id_number", "province", "county", "township", "village", "members",
                  "working_members", "status", "consent", "enrolled_at"}


def new_household(n, **over):
    return {"file_no": f"6104269{n:05d}", "head_name": f"Zhang {n}",
            "id_number": with_check_digit(f"61042619900202{n:03d}"), "province": "Shaanxi", "county": "Zhashui",
            "township": "Yingpan", "village": "Zhuyuan", "members": 3, "working_members": 1, "status": "monitored",
            "consent": True, "enrolled_at": "2021-03-01", **over}


def error(response, status, code=None):
    body = response.get_json()
    assert response.status_code == status, body
    assert set(body) == {"error"} and {"code", "message"} <= set(body["error"]), body
    if code:
        assert body["error"]["code"] == code, body
    return body["error"]


def count(model, *where) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def unmask_records(household_id) -> int:
    return count(AuditRecord, AuditRecord.action == "household.unmask", AuditRecord.object_id == household_id)


@pytest.fixture
def world(make):
    """Two cooperatives, a buyer, staff; h1 linked (10%) to coop, h2 to no one."""
    staff = make.staff()
    coop, other = make.coop(), make.coop()
    h1, h2 = household(staff, 1), household(staff, 2)
    db.session.commit()
    product = make.product(coop, price_fen=1000, stock=500)
    link = approved_link(make, coop, h1.id, share_bp=1000)
    return SimpleNamespace(staff=staff, coop=coop, owner=owner_of(coop), other=other, other_owner=owner_of(other),
                           buyer=make.user(), h1=h1, h2=h2, product=product, link=link)


ROUTES = [("get", "/households"), ("post", "/households"), ("get", "/households/1"), ("patch", "/households/1"),
          ("get", "/households/1/ledger"), ("get", "/households/1/income"),
          ("post", "/cooperatives/1/benefit-links"), ("get", "/cooperatives/1/benefit-links"),
          ("post", "/benefit-links/1/approve"), ("post", "/benefit-links/1/reject"),
          ("post", "/cooperatives/1/payouts"), ("get", "/audit/ledger/verify")]


@pytest.mark.parametrize("method,path", ROUTES)
def test_anonymous_callers_get_401_before_any_body_check(api, method, path):
    error(api(method, path, json={"nonsense": True} if method != "get" else None), 401, "unauthorized")


def test_staff_register_create_list_filter_and_patch(api, world):
    created = api("post", "/households", user=world.staff, json=new_household(7))
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert HOUSEHOLD_KEYS <= set(body) and body["status"] == "monitored" and body["enrolled_at"] == "2021-03-01"
    assert body["id_number"] == "610426********" + new_household(7)["id_number"][-4:] and body["masked"]
    listed = api("get", "/households?per_page=2", user=world.staff).get_json()
    assert set(listed) == {"items", "page", "per_page", "total"} and listed["total"] == 3 and len(listed["items"]) == 2
    assert all("*" in item["id_number"] for item in listed["items"])

    def ids(query):
        return [i["id"] for i in api("get", "/households?" + query, user=world.staff).get_json()["items"]]

    assert ids("village=Zhuyuan") == ids("status=monitored") == [body["id"]]
    assert ids("county=Zhashui") == [world.h1.id, world.h2.id, body["id"]] and ids("county=Elsewhere") == []
    assert ids("q=Zhang") == ids("q=61042690000" + "7") == ids("q=" + new_household(7)["id_number"]) == [body["id"]]
    patched = api("patch", f"/households/{body['id']}", user=world.staff, json={"status": "exited", "members": 5})
    assert patched.status_code == 200 and (patched.get_json()["status"], patched.get_json()["members"]) == ("exited", 5)
    assert count(AuditRecord, AuditRecord.action.in_(["household.create", "household.update"]),
                 AuditRecord.object_id == body["id"]) == 2


def test_staff_read_unmasked_and_every_read_is_audited_once(api, world):
    assert unmask_records(world.h1.id) == 0
    for reads in (1, 2):
        got = api("get", f"/households/{world.h1.id}", user=world.staff).get_json()
        assert got["id_number"] == with_check_digit("61042619800101001") and got["masked"] is False
        assert unmask_records(world.h1.id) == reads
    api("get", "/households", user=world.staff)
    api("patch", f"/households/{world.h1.id}", user=world.staff, json={"consent": False})
    api("get", f"/households/{world.h1.id}", user=world.owner)
    assert unmask_records(world.h1.id) == 2  # lists, edits and cooperative reads never unmask


def test_a_linked_cooperative_sees_its_household_masked_and_nobody_else_sees_it(api, world, make):
    got = api("get", f"/households/{world.h1.id}", user=world.owner).get_json()
    assert got["id_number"].startswith("610426****") and got["masked"] is True and got["head_name"] == "Head 1"
    error(api("get", f"/households/{world.h2.id}", user=world.owner), 404)  # not linked
    error(api("get", f"/households/{world.h1.id}", user=world.other_owner), 404)  # another cooperative
    error(api("get", f"/households/{world.h1.id}", user=world.buyer), 404)
    error(api("get", "/households/99999999999", user=world.staff), 404)  # past the id column: 404, not 500
    error(api("get", "/households", user=world.owner), 403, "staff_only")
    error(api("post", "/households", user=world.buyer, json=new_household(8)), 403, "staff_only")
    error(api("patch", f"/households/{world.h1.id}", user=world.owner, json={"members": 2}), 403, "staff_only")
    assert count(AuditRecord, AuditRecord.action == "household.unmask") == 0


def test_ledger_staff_see_everything_a_cooperative_only_its_own_entries(api, world, make):
    approved_link(make, world.other, world.h1.id, share_bp=500)  # h1 is linked to both cooperatives
    elsewhere = make.product(world.other, price_fen=2000, stock=10)
    order = paid_order(make, world.product, 3)  # 3000 -> 300 to h1 from coop
    paid_order(make, elsewhere, 1)  # 2000 -> 100 to h1 from other
    staff_view = api("get", f"/households/{world.h1.id}/ledger", user=world.staff).get_json()
    assert staff_view["total"] == 2 and ENTRY_KEYS <= set(staff_view["items"][0])
    first = staff_view["items"][0]
    assert (first["kind"], first["amount_fen"], first["cooperative_id"], first["order_line_id"]) == (
        "accrual", 300, world.coop.id, order.lines[0].id) and len(first["hash"]) == 64
    mine = api("get", f"/households/{world.h1.id}/ledger", user=world.owner).get_json()
    assert [(e["cooperative_id"], e["amount_fen"]) for e in mine["items"]] == [(world.coop.id, 300)]
    theirs = api("get", f"/households/{world.h1.id}/ledger?cooperative_id={world.coop.id}",
                 user=world.other_owner).get_json()  # the filter cannot widen a cooperative's view
    assert [(e["cooperative_id"], e["amount_fen"]) for e in theirs["items"]] == [(world.other.id, 100)]
    filtered = api("get", f"/households/{world.h1.id}/ledger?cooperative_id={world.other.id}&per_page=1",
                   user=world.staff).get_json()
    assert (filtered["total"], filtered["per_page"], len(filtered["items"])) == (1, 1, 1)
    error(api("get", f"/households/{world.h2.id}/ledger", user=world.owner), 404)
    error(api("get", f"/households/{world.h1.id}/ledger", user=world.buyer), 404)


def test_income_per_month_and_per_capita(api, world, make):
    paid_order(make, world.product, 8)  # 8000 -> 800 to h1 (4 members)
    got = api("get", f"/households/{world.h1.id}/income", user=world.staff).get_json()
    assert len(got["months"]) == 12
    assert got["months"][-1]["income_fen"] == 800 and got["months"][-1]["per_capita_fen"] == 200
    assert (got["total_fen"], got["per_capita_fen"], got["members"]) == (800, 200, 4)
    assert got["summary"]["rolling_12m_fen"] == 800 and got["summary"]["rolling_12m_per_capita_fen"] == 200
    assert got["owed"] == [{"cooperative_id": world.coop.id, "owed_fen": 800}]
    old = api("get", f"/households/{world.h1.id}/income?from=2021-01-01&to=2021-03-31", user=world.staff).get_json()
    assert [m["month"] for m in old["months"]] == ["2021-01", "2021-02", "2021-03"] and old["total_fen"] == 0
    error(api("get", f"/households/{world.h1.id}/income", user=world.owner), 403, "staff_only")
    error(api("get", "/households/4242/income", user=world.staff), 404)


@pytest.mark.parametrize("query", ["from=2024-13-01", "to=yesterday", "from=2025-05-01&to=2025-04-30",
                                   "from=2000-01-01&to=2020-01-01", "from=9999-12-01&to=9999-12-31"])
def test_bad_income_periods_are_422(api, world, query):
    error(api("get", f"/households/{world.h1.id}/income?{query}", user=world.staff), 422)


def test_benefit_link_propose_list_approve_reject_and_new_versions(api, world, make):
    body = {"household_id": world.h2.id, "kind": "wage", "share_bp": 500, "valid_from": "2024-01-01"}
    proposed = api("post", f"/cooperatives/{world.coop.id}/benefit-links", user=world.owner, json=body)
    assert proposed.status_code == 201, proposed.get_json()
    link = proposed.get_json()
    assert (link["status"], link["version"], link["kind"], link["share_bp"]) == ("proposed", 1, "wage", 500)
    assert "*" in link["household"]["id_number"] and link["valid_to"] is None
    listed = api("get", f"/cooperatives/{world.coop.id}/benefit-links?status=proposed", user=world.owner).get_json()
    assert [item["id"] for item in listed["items"]] == [link["id"]]
    assert api("get", f"/cooperatives/{world.coop.id}/benefit-links", user=world.staff).get_json()["total"] == 2
    error(api("get", f"/cooperatives/{world.coop.id}/benefit-links", user=world.other_owner), 403)
    error(api("get", f"/cooperatives/{world.coop.id}/benefit-links", user=world.buyer), 403)
    error(api("post", f"/benefit-links/{link['id']}/approve", user=world.owner), 403, "staff_only")
    approved = api("post", f"/benefit-links/{link['id']}/approve", user=world.staff, json={"note": "checked"})
    assert approved.status_code == 200 and approved.get_json()["status"] == "approved"
    assert approved.get_json()["decided_by_id"] == world.staff.id
    error(api("post", f"/benefit-links/{link['id']}/reject", user=world.staff), 409, "invalid_transition")
    # a change is a new version of the same link; approving it supersedes the old one
    v2 = api("post", f"/cooperatives/{world.coop.id}/benefit-links", user=world.owner,
             json={**body, "share_bp": 700, "link_key": link["link_key"]}).get_json()
    assert (v2["link_key"], v2["version"]) == (link["link_key"], 2)
    api("post", f"/benefit-links/{v2['id']}/approve", user=world.staff)
    statuses = {i["id"]: i["status"] for i in api("get", f"/cooperatives/{world.coop.id}/benefit-links",
                                                   user=world.owner).get_json()["items"]}
    assert (statuses[link["id"]], statuses[v2["id"]]) == ("superseded", "approved")
    # and a link reject
    third = api("post", f"/cooperatives/{world.coop.id}/benefit-links", user=world.owner,
                json={**body, "kind": "dividend"}).get_json()
    rejected = api("post", f"/benefit-links/{third['id']}/reject", user=world.staff, json={"note": "no shares"})
    assert rejected.get_json()["status"] == "rejected" and rejected.get_json()["note"] == "no shares"
    # a household linked by any version (even a rejected one) is visible to that cooperative, masked
    assert api("get", f"/households/{world.h2.id}", user=world.owner).get_json()["masked"] is True


def test_links_are_proposed_by_that_cooperatives_owner_or_manager_only(api, world):
    body = {"household_id": world.h2.id, "kind": "wage", "share_bp": 500, "valid_from": "2024-01-01"}
    error(api("post", f"/cooperatives/{world.coop.id}/benefit-links", user=world.other_owner, json=body), 403,
          "not_your_cooperative")
    error(api("post", f"/cooperatives/{world.coop.id}/benefit-links", user=world.buyer, json=body), 403)
    error(api("post", f"/cooperatives/{world.coop.id}/benefit-links", user=world.staff, json=body), 403)
    error(api("post", "/cooperatives/777/benefit-links", user=world.owner, json=body), 404)
    error(api("post", "/benefit-links/777/approve", user=world.staff), 404)


def test_payout_within_the_balance_and_who_may_record_it(api, world, make):
    paid_order(make, world.product, 5)  # 500 owed to h1
    body = {"household_id": world.h1.id, "amount_fen": 200, "method": "mobile_payment", "reference": "WX-1",
            "paid_on": "2024-05-01"}
    error(api("post", f"/cooperatives/{world.coop.id}/payouts", user=world.buyer, json=body), 403)
    error(api("post", f"/cooperatives/{world.coop.id}/payouts", user=world.staff, json=body), 403)
    paid = api("post", f"/cooperatives/{world.coop.id}/payouts", user=world.owner, json=body)
    assert paid.status_code == 201, paid.get_json()
    assert {k: paid.get_json()[k] for k in ("amount_fen", "method", "reference", "paid_on", "balance_fen")} == {
        "amount_fen": 200, "method": "mobile_payment", "reference": "WX-1", "paid_on": "2024-05-01",
        "balance_fen": 300}
    entries = api("get", f"/households/{world.h1.id}/ledger", user=world.owner).get_json()["items"]
    assert [(e["kind"], e["amount_fen"]) for e in entries] == [("accrual", 500), ("payout", -200)]
    assert entries[1]["payout_id"] == paid.get_json()["id"]


def test_ledger_verify_reports_ok_then_the_first_broken_entry(api, world, make):
    error(api("get", "/audit/ledger/verify", user=world.owner), 403, "staff_only")
    paid_order(make, world.product, 1)
    paid_order(make, world.product, 2)
    assert api("get", "/audit/ledger/verify", user=world.staff).get_json() == {"ok": True, "entries": 2}
    second = db.session.scalar(select(LedgerEntry.id).where(LedgerEntry.seq == 2))
    _tamper(f"UPDATE ledger_entries SET amount_fen = 1 WHERE id = {second}")
    got = api("get", "/audit/ledger/verify", user=world.staff).get_json()
    assert got["ok"] is False and got["entries"] == 1 and got["first_broken"]["id"] == second
    assert "edited" in got["first_broken"]["problem"]


def test_the_openapi_document_describes_households_with_integer_money(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    schemas = spec["components"]["schemas"]
    assert schemas["PayoutIn"]["properties"]["amount_fen"]["type"] == "integer"
    assert schemas["LedgerEntry"]["properties"]["amount_fen"]["type"] == "integer"
    assert "/api/v1/households/{household_id}/income" in spec["paths"]
