"""The monitoring API (API.md): lines (admin), cases with steps by level and in order,
measures, the scan (never a duplicate case, even two at once) and county scoping."""
import json
import threading
import urllib.request

import pytest
from sqlalchemy import func, select

from marketplace.auth.services import issue_api_token
from marketplace.extensions import db
from marketplace.monitoring import cases, scan as scan_module
from marketplace.monitoring.models import OPEN_STATUSES, Case
from tests.conftest import PG_URL
from tests.households.test_api import error
from tests.monitoring.test_records import TODAY, income_drop, month, world  # noqa: F401

CASE_KEYS = {"id", "household_id", "status", "reasons", "opened_at", "due_at"}


def open_count():
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(Case).where(Case.status.in_(OPEN_STATUSES)))


ROUTES = [("get", "/monitoring/lines", None), ("post", "/monitoring/lines", {"year": 2026, "yuan_per_person": 1}),
          ("get", "/monitoring/cases", None), ("post", "/monitoring/scan", None),
          ("post", "/monitoring/cases/1/transition", {"to": "village_review", "comment": "hello"}),
          ("post", "/monitoring/cases/1/measures", {"kind": "health", "helper": "x", "started_on": "2026-01-01"}),
          ("get", "/audit/reconciliation?cooperative_id=1", None), ("get", "/audit/log", None)]


@pytest.mark.parametrize("method, path, body", ROUTES)
def test_token_and_staff_required(api, make, method, path, body):
    error(api(method, path, json=body), 401, "unauthorized")
    error(api(method, path, user=make.user(), json=body), 403, "staff_only")


def test_lines_admin_only_above_zero(api, world):
    error(api("post", "/monitoring/lines", user=world.staff, json={"year": 2026, "yuan_per_person": 7500}),
          403, "admin_only")
    for bad in (0, -7500):
        body = error(api("post", "/monitoring/lines", user=world.admin, json={"year": 2026, "yuan_per_person": bad}),
                     422)
        assert "yuan_per_person" in body["fields"]
    error(api("post", "/monitoring/lines", user=world.admin, json={"year": 1999, "yuan_per_person": 7500}), 422)
    error(api("post", "/monitoring/lines", user=world.admin, json={"year": 2026, "yuan_per_person": "7500"}), 422)
    created = api("post", "/monitoring/lines", user=world.admin, json={"year": 2026, "yuan_per_person": 7500})
    assert created.status_code == 201 and created.get_json()["line_fen"] == 750_000
    changed = api("post", "/monitoring/lines", user=world.admin, json={"year": 2026, "yuan_per_person": 7600})
    assert changed.status_code == 200
    listed = api("get", "/monitoring/lines", user=world.staff).get_json()
    assert [(x["year"], x["yuan_per_person"]) for x in listed["items"]] == [(2026, 7600)] and listed["total"] == 1


def test_scan_then_cases_list_with_filters_and_scoping(api, world):
    income_drop(world.staff, world.h)
    income_drop(world.staff, world.far)
    db.session.commit()
    first = api("post", "/monitoring/scan", user=world.staff)
    assert first.status_code == 200 and first.get_json() == {"queued": False, "households": 2, "opened": 2,
                                                              "already_open": 0}
    assert api("post", "/monitoring/scan", user=world.staff).get_json()["opened"] == 0
    listed = api("get", "/monitoring/cases", user=world.staff).get_json()
    assert listed["total"] == 2 and CASE_KEYS <= set(listed["items"][0])
    assert listed["items"][0]["reasons"][0]["rule"] == "income_drop" and listed["items"][0]["status"] == "identified"
    mine = api("get", "/monitoring/cases", user=world.village).get_json()
    assert [c["household_id"] for c in mine["items"]] == [world.h.id]
    assert api("get", f"/monitoring/cases?household_id={world.far.id}", user=world.village).get_json()["total"] == 0
    assert api("get", "/monitoring/cases?status=closed", user=world.staff).get_json()["total"] == 0
    assert api("get", "/monitoring/cases?status=open", user=world.staff).get_json()["total"] == 2
    error(api("get", "/monitoring/cases?status=lost", user=world.staff), 422)
    far_case = db.session.scalar(select(Case.id).where(Case.household_id == world.far.id))
    error(api("get", f"/monitoring/cases/{far_case}", user=world.village), 404)
    error(api("post", f"/monitoring/cases/{far_case}/transition", user=world.village,
              json={"to": "village_review", "comment": "not my county"}), 404)


def test_transitions_need_the_level_and_the_order(api, world):
    case = cases.open_case(world.h, [{"rule": "risk_event", "detail": {}}])
    db.session.commit()
    path = f"/monitoring/cases/{case.id}"
    error(api("post", path + "/transition", user=world.village, json={"to": "county_decision",
                                                                      "comment": "skip two steps"}),
          409, "invalid_transition")
    error(api("post", path + "/transition", user=world.village, json={"to": "flying", "comment": "what"}), 422)
    error(api("post", path + "/transition", user=world.village, json={"to": "village_review", "comment": ""}), 422)
    moved = api("post", path + "/transition", user=world.village, json={"to": "village_review", "comment": "visited"})
    assert moved.status_code == 200 and moved.get_json()["status"] == "village_review"
    error(api("post", path + "/transition", user=world.village, json={"to": "township_check",
                                                                      "comment": "above my level"}),
          403, "wrong_level")
    error(api("post", path + "/transition", user=world.village, json={"to": "dismissed", "comment": "fine now"}),
          403, "wrong_level")
    for to in ("township_check", "county_decision"):
        moved = api("post", path + "/transition", user=world.county, json={"to": to, "comment": "ok!"})
        assert moved.status_code == 200
    error(api("post", path + "/transition", user=world.county, json={"to": "assisted", "comment": "no measure"}),
          409, "measure_required")
    error(api("post", path + "/measures", user=world.county, json={"kind": "magic", "helper": "x",
                                                                   "started_on": "2026-01-01"}), 422)
    measure = api("post", path + "/measures", user=world.county, json={
        "kind": "livestream_sales", "helper": "Wang Li", "started_on": month(0).isoformat(),
        "description": "Sells tea in the Friday show"})
    assert measure.status_code == 201 and measure.get_json()["kind"] == "livestream_sales"
    for to in ("assisted", "closed"):
        moved = api("post", path + "/transition", user=world.county, json={"to": to, "comment": "done"})
        assert moved.status_code == 200
    error(api("post", path + "/transition", user=world.county, json={"to": "dismissed", "comment": "late"}),
          409, "invalid_transition")
    full = api("get", path, user=world.staff).get_json()
    assert [s["to_status"] for s in full["steps"]] == ["village_review", "township_check", "county_decision",
                                                       "assisted", "closed"]
    assert full["closed_at"] and full["measures"][0]["helper"] == "Wang Li"


def test_dismissing_needs_a_reason(api, world):
    case = cases.open_case(world.h, [{"rule": "risk_event", "detail": {}}])
    db.session.commit()
    moved = api("post", f"/monitoring/cases/{case.id}/transition", user=world.county,
                json={"to": "dismissed", "comment": "Recorded twice: the illness was last year"})
    assert moved.get_json()["status"] == "dismissed"
    assert moved.get_json()["dismissed_reason"].startswith("Recorded twice")


# --- two scans at once ----------------------------------------------------------------------------

def test_two_scans_at_once_over_http_open_one_case(live_server, make, world):
    income_drop(world.staff, world.h)
    db.session.commit()
    token, _ = issue_api_token(world.staff)
    db.session.commit()
    url = live_server.config["LIVE_URL"] + "/api/v1/monitoring/scan"
    results, start = [], threading.Barrier(2)

    def post():
        request = urllib.request.Request(url, method="POST", headers={"Authorization": f"Bearer {token}"})
        start.wait(timeout=10)
        with urllib.request.urlopen(request, timeout=60) as response:
            results.append((response.status, json.loads(response.read())))

    threads = [threading.Thread(target=post) for _ in range(2)]
    [t.start() for t in threads]
    [t.join(timeout=60) for t in threads]
    assert [status for status, _ in results] == [200, 200], results
    assert sorted(body["opened"] for _, body in results) == [0, 1]
    assert open_count() == 1


@pytest.mark.postgres
@pytest.mark.skipif(not PG_URL, reason="needs PostgreSQL (TEST_DATABASE_URL): SQLite has one writer at a time")
def test_two_scans_racing_in_two_app_contexts_open_one_case(app, world, monkeypatch):
    """Both scans read "no open case" before either inserts; the unique index makes the
    second insert wait for the first commit and then do nothing: that scan skips the household."""
    income_drop(world.staff, world.h)
    db.session.commit()
    both_read, real_open = threading.Barrier(2), scan_module.open_cases
    monkeypatch.setattr(scan_module, "open_cases",
                        lambda *a, **kw: (both_read.wait(timeout=20), real_open(*a, **kw))[1])
    results, failures = [], []

    def run():
        with app.app_context():
            try:
                results.append(scan_module.run_scan(TODAY))
                db.session.commit()
            except Exception as exc:  # noqa: BLE001 - reported below
                failures.append(exc)
                db.session.rollback()
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(2)]
    [t.start() for t in threads]
    [t.join(timeout=60) for t in threads]
    assert not failures, failures
    assert sorted((r["opened"], r["already_open"]) for r in results) == [(0, 1), (1, 0)]
    assert open_count() == 1
