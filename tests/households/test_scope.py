"""County scoping of the household register: staff assigned to a county see, open,
unmask, change, approve links of and export that county's households only (another
county's household is a 404, as in monitoring); admins and programme-level staff
(no assignment) see every county."""
import io
from datetime import date
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from marketplace.auth.models import Role
from marketplace.core.audit import AuditRecord
from marketplace.extensions import db
from marketplace.households.identity import with_check_digit
from marketplace.households.links import propose
from marketplace.households.models import BenefitLink, Household, LinkStatus
from marketplace.households.services import create_household
from marketplace.monitoring.models import StaffAssignment, StaffLevel
from tests.conftest import main_html, owner_of
from tests.households.test_api import error, new_household
from tests.households.test_views import client_for

HOME, AWAY = "Zhashui", "Shanyang"


def enrol(staff, n, county):
    return create_household(staff, {
        "file_no": f"61042{n:07d}", "head_name": f"{county} head {n}",
        "id_number": with_check_digit(f"61042619850303{n:03d}"), "province": "Shaanxi", "county": county,
        "township": "Town", "village": "Village", "members": 3, "working_members": 1, "enrolled_at": "2020-05-01",
        "consent": True})


def assigned(make, county):
    user = make.staff()
    db.session.add(StaffAssignment(user_id=user.id, county=county, level=StaffLevel.county))
    db.session.commit()
    return user


def unmask_records(household_id):
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(AuditRecord).where(
        AuditRecord.action == "household.unmask", AuditRecord.object_id == household_id))


@pytest.fixture
def counties(make):
    """A household in each county, a proposed link to the away one, staff of the home county."""
    programme = make.staff()  # no assignment: sees every county
    home, away = enrol(programme, 1, HOME), enrol(programme, 2, AWAY)
    coop = make.coop(county=AWAY)
    link = propose(owner_of(coop), coop, {"household_id": away.id, "kind": "wage", "share_bp": 500,
                                          "valid_from": date(2024, 1, 1).isoformat()})
    db.session.commit()
    return SimpleNamespace(programme=programme, home=home, away=away, coop=coop, link=link,
                           local=assigned(make, HOME), admin=make.user(role=Role.admin))


# --- the pages --------------------------------------------------------------------

def test_the_register_lists_only_the_staff_members_county(app, counties):
    page = main_html(client_for(app, counties.local).get("/staff/households"))
    assert counties.home.file_no in page and counties.away.file_no not in page
    assert f'value="{AWAY}"' not in page  # not offered in the county filter either
    filtered = main_html(client_for(app, counties.local).get(f"/staff/households?county={AWAY}"))
    assert counties.away.file_no not in filtered
    for everyone in (counties.programme, counties.admin):
        page = main_html(client_for(app, everyone).get("/staff/households"))
        assert counties.home.file_no in page and counties.away.file_no in page


@pytest.mark.parametrize("method,path,own_status", [
    ("get", "/staff/households/{id}", 200), ("get", "/staff/households/{id}/edit", 200),
    ("post", "/staff/households/{id}/edit", 422),  # the own county's form, re-shown with its errors
    ("post", "/staff/households/{id}/unmask", 200)])
def test_another_countys_household_page_is_404_and_nothing_is_unmasked(app, counties, method, path, own_status):
    client = client_for(app, counties.local)
    response = getattr(client, method)(path.format(id=counties.away.id), data={"head_name": "Changed"})
    assert response.status_code == 404
    assert counties.away.head_name not in response.get_data(as_text=True)
    assert unmask_records(counties.away.id) == 0
    db.session.expire_all()
    assert db.session.get(Household, counties.away.id).head_name == f"{AWAY} head 2"
    own = getattr(client, method)(path.format(id=counties.home.id), data={"head_name": "Changed"})
    assert own.status_code == own_status


def test_unmasking_in_the_own_county_still_works_and_is_audited(app, counties):
    response = client_for(app, counties.local).post(f"/staff/households/{counties.home.id}/unmask")
    assert response.status_code == 200 and with_check_digit("61042619850303001") in main_html(response)
    assert unmask_records(counties.home.id) == 1


def test_registering_a_household_of_another_county_is_refused_beside_the_field(app, counties):
    form = {"file_no": "6104268888", "head_name": "Li Na", "id_number": with_check_digit("61042619750505555"),
            "province": "Shaanxi", "county": AWAY, "township": "T", "village": "V", "members": "2",
            "working_members": "1", "status": "stable", "consent": "y", "enrolled_at": "2019-06-01"}
    response = client_for(app, counties.local).post("/staff/households/new", data=form)
    assert response.status_code == 403 and "your own counties only" in main_html(response)
    assert db.session.scalar(select(Household).where(Household.file_no == "6104268888")) is None
    ok = client_for(app, counties.local).post("/staff/households/new", data={**form, "county": HOME})
    assert ok.status_code == 302


def test_a_csv_row_of_another_county_is_refused_with_its_line(app, counties):
    header = "file_no,head_name,id_number,province,county,township,village,members,working_members,status," \
             "consent,enrolled_at"
    rows = [f"6104267001,Wu,{with_check_digit('61042619700101701')},Shaanxi,{HOME},T,V,3,1,stable,yes,2020-01-01",
            f"6104267002,Xu,{with_check_digit('61042619700101702')},Shaanxi,{AWAY},T,V,3,1,stable,yes,2020-01-01"]
    data = {"file": (io.BytesIO("\n".join([header, *rows]).encode()), "households.csv")}
    page = main_html(client_for(app, counties.local).post("/staff/households/import", data=data,
                                                          content_type="multipart/form-data"))
    assert "your own counties only" in page
    db.session.expire_all()
    assert {h.file_no for h in db.session.scalars(select(Household).where(
        Household.file_no.in_(["6104267001", "6104267002"])))} == {"6104267001"}


def test_links_of_another_countys_household_are_neither_queued_nor_decided(app, counties):
    client = client_for(app, counties.local)
    assert counties.away.head_name not in main_html(client.get("/staff/households/links"))
    assert client.post(f"/staff/households/links/{counties.link.id}/approve").status_code == 404
    db.session.expire_all()
    assert db.session.get(BenefitLink, counties.link.id).status == LinkStatus.proposed
    assert counties.away.head_name in main_html(client_for(app, counties.programme).get("/staff/households/links"))


# --- the API ------------------------------------------------------------------------

def test_api_lists_only_the_own_county(api, counties):
    def file_nos(user, query=""):
        body = api("get", "/households" + query, user=user).get_json()
        return body["total"], {item["file_no"] for item in body["items"]}

    assert file_nos(counties.local) == (1, {counties.home.file_no})
    assert file_nos(counties.local, f"?county={AWAY}") == (0, set())
    assert file_nos(counties.local, f"?q={counties.away.file_no}") == (0, set())
    assert file_nos(counties.admin) == file_nos(counties.programme) == (2, {counties.home.file_no,
                                                                            counties.away.file_no})


@pytest.mark.parametrize("method,path", [("get", "/households/{id}"), ("patch", "/households/{id}"),
                                         ("get", "/households/{id}/ledger"), ("get", "/households/{id}/income")])
def test_api_another_countys_household_is_404_and_stays_unread(api, counties, method, path):
    body = {"members": 5} if method == "patch" else None
    error(api(method, path.format(id=counties.away.id), user=counties.local, json=body), 404, "not_found")
    assert unmask_records(counties.away.id) == 0
    db.session.expire_all()
    assert db.session.get(Household, counties.away.id).members == 3
    assert api(method, path.format(id=counties.home.id), user=counties.local, json=body).status_code == 200


def test_api_refuses_households_and_moves_into_another_county(api, counties):
    error(api("post", "/households", user=counties.local, json=new_household(40, county=AWAY)), 403,
          "county_out_of_scope")
    assert api("post", "/households", user=counties.local, json=new_household(41, county=HOME)).status_code == 201
    error(api("patch", f"/households/{counties.home.id}", user=counties.local, json={"county": AWAY}), 403,
          "county_out_of_scope")
    db.session.expire_all()
    assert db.session.get(Household, counties.home.id).county == HOME


def test_api_link_decisions_and_lists_are_scoped(api, counties):
    error(api("post", f"/benefit-links/{counties.link.id}/approve", user=counties.local, json={}), 404)
    db.session.expire_all()
    assert db.session.get(BenefitLink, counties.link.id).status == LinkStatus.proposed
    listed = api("get", f"/cooperatives/{counties.coop.id}/benefit-links", user=counties.local).get_json()
    assert listed["total"] == 0 and listed["items"] == []
    assert api("get", f"/cooperatives/{counties.coop.id}/benefit-links", user=counties.programme).get_json()[
        "total"] == 1


def test_the_audit_export_of_another_countys_cooperative_is_404(app, counties):
    for fmt in ("csv", "xlsx"):
        path = f"/staff/audit/export.{fmt}?cooperative_id={counties.coop.id}"
        assert client_for(app, counties.local).get(path).status_code == 404
        assert client_for(app, counties.programme).get(path).status_code == 200
