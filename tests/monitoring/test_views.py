"""The staff monitoring pages: dashboard (fixed query count, SVG charts with table
fallbacks), cases with filters and the overdue list, the case page (steps by level,
measures, income before and after), a household's records, the lines, county
scoping; and the scan from the page, the CLI and the job."""
from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from marketplace.core.db import utcnow
from marketplace.extensions import db
from marketplace.jobs import queue as job_queue
from marketplace.monitoring import cases, jobs
from marketplace.monitoring.models import Case, IncomeRecord, MonitoringLine, RiskEvent
from tests.conftest import PASSWORD, main_html
from tests.households.test_ledger import approved_link, paid_order
from tests.monitoring.test_records import TODAY, add_income, household_in, income_drop, month, world  # noqa: F401


def client_for(app, user):
    client = app.test_client()
    assert client.post("/login", data={"email": user.email, "password": PASSWORD}).status_code == 302
    return client


def open_cases():
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(Case).where(Case.closed_at.is_(None)))


# --- access -------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/staff/monitoring", "/staff/monitoring/cases", "/staff/monitoring/cases/overdue",
                                  "/staff/monitoring/lines", "/staff/audit", "/staff/audit/log"])
def test_staff_only(app, client, make, login, path):
    assert client.get(path).status_code == 302  # to the login page
    login(make.user())
    assert client.get(path).status_code == 403


def test_staff_of_one_county_get_404_for_another_countys_household_and_case(app, world):
    case = cases.open_case(world.far, [{"rule": "risk_event", "detail": {}}])
    mine = cases.open_case(world.h, [{"rule": "risk_event", "detail": {}}])
    db.session.commit()
    web = client_for(app, world.village)
    assert web.get(f"/staff/monitoring/households/{world.far.id}/records").status_code == 404
    assert web.get(f"/staff/monitoring/cases/{case.id}").status_code == 404
    assert web.post(f"/staff/monitoring/cases/{case.id}/transition",
                    data={"to": "village_review", "comment": "let me in"}).status_code == 404
    assert web.post(f"/staff/monitoring/households/{world.far.id}/records",
                    data={"form": "risk", "kind": "disaster", "occurred_on": TODAY.isoformat()}).status_code == 404
    listing = main_html(web.get("/staff/monitoring/cases"))
    assert f"#{mine.id}<" in listing and f"#{case.id}<" not in listing
    assert web.get("/staff/monitoring/households/99999/records").status_code == 404
    admin = client_for(app, world.admin)
    assert admin.get(f"/staff/monitoring/cases/{case.id}").status_code == 200


# --- dashboard ----------------------------------------------------------------------------

def _grow(make, world, n):
    coop = make.coop()
    product = make.product(coop, price_fen=1000, stock=500)
    for i in range(n):
        h = household_in(world.staff, 100 + i, county=f"County {i % 3}")
        db.session.commit()
        approved_link(make, coop, h.id, share_bp=1000)
        income_drop(world.staff, h)
    paid_order(make, product, 2)
    db.session.commit()


def test_dashboard_runs_the_same_queries_for_few_or_many_households(app, make, world, count_queries):
    from marketplace.monitoring import dashboard

    def measure():
        assert world.staff.is_staff and world.staff.membership is None  # loaded before counting
        with count_queries() as q:
            d = dashboard.summary(world.staff)
        return q.count, d

    few, _ = measure()
    _grow(make, world, 6)
    cases.open_case(world.h, [{"rule": "risk_event", "detail": {}}])
    db.session.commit()
    many, d = measure()
    assert few == many <= 8  # the staff member's counties, then one query per figure
    assert d["households_total"] == 8 and d["open_cases"] == 1
    assert [(r["household_id"], r["status"], r["reasons"][0]["rule"]) for r in d["at_risk"]] == [
        (world.h.id, "identified", "risk_event")]
    assert d["households_by_status"] == {"stable": 7, "monitored": 1}  # a case puts its household under watch
    assert {r["label"] for r in d["households_by_county"]} >= {"County 0", "Zhashui", "Elsewhere"}
    assert d["top_cooperatives"][0]["income_fen"] == 6 * 200  # 10 % of 2,000 fen for each of 6 households
    assert d["trend"][-1]["other_fen"] == 6 * 100_000 and len(d["trend"]) == 12
    scoped = dashboard.summary(world.village)
    assert scoped["households_total"] == 1 and scoped["top_cooperatives"] == []


def test_dashboard_page_has_charts_with_title_desc_and_tables(app, world):
    cases.open_case(world.h, [{"rule": "risk_event", "detail": {}}])
    db.session.commit()
    page = main_html(client_for(app, world.staff).get("/staff/monitoring"))
    assert page.count('role="img"') >= 3 and "<title id=" in page and "<desc id=" in page
    assert page.count("<table") >= 4 and "style=" not in page


def test_every_page_renders_in_chinese(app, world):
    case = cases.open_case(world.h, [{"rule": "below_line", "detail": {"projected_per_capita_fen": 1,
                                                                      "line_fen": 750_000}}])
    cases.add_measure(world.county, case, {"kind": "health", "helper": "Dr Wu", "started_on": month(1)})
    db.session.commit()
    web = client_for(app, world.admin)
    for path in ("/staff/monitoring", "/staff/monitoring/cases", "/staff/monitoring/cases/overdue",
                 f"/staff/monitoring/cases/{case.id}", f"/staff/monitoring/households/{world.h.id}/records",
                 "/staff/monitoring/lines", "/staff/audit", "/staff/audit/sample", "/staff/audit/log"):
        response = web.get(path, headers={"Accept-Language": "zh-CN,zh;q=0.9"})
        assert response.status_code == 200, path
        assert 'lang="zh-CN"' in response.get_data(as_text=True)


def test_the_dashboard_finds_a_household_by_file_number_in_the_viewers_counties(app, world):
    village = client_for(app, world.village)
    found = village.get(f"/staff/monitoring/households?file_no={world.h.file_no}")
    assert found.status_code == 302 and found.location.endswith(f"/staff/monitoring/households/{world.h.id}/records")
    for file_no in (world.far.file_no, "no-such-file", ""):  # another county's household is not found either
        missed = village.get(f"/staff/monitoring/households?file_no={file_no}", follow_redirects=True)
        assert "No household with file number" in main_html(missed)
    assert client_for(app, world.admin).get(
        f"/staff/monitoring/households?file_no={world.far.file_no}").status_code == 302


def test_the_scan_button_opens_cases(app, world):
    income_drop(world.staff, world.h)
    db.session.commit()
    web = client_for(app, world.staff)
    response = web.post("/staff/monitoring/scan", follow_redirects=True)
    assert "1 new cases" in response.get_data(as_text=True)
    assert open_cases() == 1


# --- cases and the case page --------------------------------------------------------------

def test_case_list_filters_and_the_overdue_list(app, world):
    late = cases.open_case(world.h, [{"rule": "income_drop", "detail": {}}], now=utcnow() - timedelta(days=40))
    fresh = cases.open_case(world.far, [{"rule": "risk_event", "detail": {}}])
    db.session.commit()
    web = client_for(app, world.staff)
    page = main_html(web.get("/staff/monitoring/cases?rule=income_drop"))
    assert f"#{late.id}<" in page and f"#{fresh.id}<" not in page
    page = main_html(web.get("/staff/monitoring/cases?county=Elsewhere"))
    assert f"#{fresh.id}<" in page and f"#{late.id}<" not in page
    assert f"#{late.id}<" not in main_html(web.get("/staff/monitoring/cases?status=closed"))
    overdue = main_html(web.get("/staff/monitoring/cases/overdue"))
    assert f"#{late.id}<" in overdue and f"#{fresh.id}<" not in overdue
    assert "Overdue" in main_html(web.get(f"/staff/monitoring/cases/{late.id}"))


def test_steps_on_the_case_page_need_the_level_and_the_order(app, world):
    case = cases.open_case(world.h, [{"rule": "income_drop", "detail": {"last_3_months_fen": 300_000,
                                                                      "previous_3_months_fen": 600_000}}])
    for offset in (2, 3, 4):  # the 3 months before the measure below
        add_income(world.staff, world.h, offset, 1000)
    db.session.commit()
    village, county = client_for(app, world.village), client_for(app, world.county)
    url = f"/staff/monitoring/cases/{case.id}"
    assert "¥3,000.00" in main_html(village.get(url))
    skipped = village.post(url + "/transition", data={"to": "township_check", "comment": "skipping ahead"})
    assert skipped.status_code == 409 and "cannot be skipped" in main_html(skipped)
    assert village.post(url + "/transition", data={"to": "village_review", "comment": "ok"}).status_code == 422
    assert village.post(url + "/transition", data={"to": "village_review", "comment": "visited"}).status_code == 302
    wrong = village.post(url + "/transition", data={"to": "township_check", "comment": "not my level"})
    assert wrong.status_code == 403 and "township-level" in main_html(wrong)
    for to in ("township_check", "county_decision"):
        assert county.post(url + "/transition", data={"to": to, "comment": f"{to} done"}).status_code == 302
    bad = county.post(url + "/measures", data={"kind": "employment", "helper": "", "started_on": "2026-02-30"})
    assert bad.status_code == 422
    assert county.post(url + "/measures", data={"kind": "employment", "helper": "Li Ming",
                                                "started_on": month(1).isoformat()}).status_code == 302
    assert county.post(url + "/transition", data={"to": "assisted", "comment": "job found"}).status_code == 302
    measure_id = db.session.scalar(select(Case).where(Case.id == case.id)).measures[0].id
    saved = county.post(f"{url}/measures/{measure_id}/outcome", data={"outcome": "earns 2,800 a month"})
    assert saved.status_code == 302
    page = main_html(county.get(url))
    assert "earns 2,800 a month" in page and "Income before and after this measure" in page
    assert "¥1,000.00" in page and "Change in income per month: -100%" in page
    assert [s.to_status.value for s in db.session.get(Case, case.id).steps] == [
        "village_review", "township_check", "county_decision", "assisted"]


# --- a household's records and the lines ------------------------------------------------------

def test_household_records_form_refuses_future_months_and_negative_amounts(app, world):
    web = client_for(app, world.village)
    url = f"/staff/monitoring/households/{world.h.id}/records"
    future = web.post(url, data={"form": "income", "category": "wages", "month": month(-1).strftime("%Y-%m"),
                                 "amount_yuan": "100"})
    assert future.status_code == 422 and "cannot be in the future" in main_html(future)
    negative = web.post(url, data={"form": "income", "category": "medical", "month": month(0).strftime("%Y-%m"),
                                   "amount_yuan": "-100"})
    assert negative.status_code == 422 and 'class="error"' in main_html(negative)
    assert db.session.scalar(select(func.count()).select_from(IncomeRecord)) == 0
    ok = web.post(url, data={"form": "income", "category": "medical", "month": month(0).strftime("%Y-%m"),
                             "amount_yuan": "880.5", "source": "County hospital"})
    assert ok.status_code == 302
    record = db.session.scalar(select(IncomeRecord))
    assert (record.kind.value, record.amount_fen) == ("spending", 88_050)
    assert web.post(url, data={"form": "risk", "kind": "lost_job", "occurred_on": TODAY.isoformat(),
                               "note": "factory closed"}).status_code == 302
    page = main_html(web.get(url))
    assert "County hospital" in page and "factory closed" in page and "-¥880.50" in page
    assert "Essential spending, last 12 months</dt><dd>¥880.50" in page
    assert db.session.scalar(select(func.count()).select_from(RiskEvent)) == 1


def test_lines_page_admin_only_and_above_zero(app, world):
    staff = client_for(app, world.staff)
    assert staff.post("/staff/monitoring/lines", data={"year": "2026", "yuan_per_person": "7500"}).status_code == 403
    admin = client_for(app, world.admin)
    for bad in ("0", "-7500", "abc"):
        response = admin.post("/staff/monitoring/lines", data={"year": "2026", "yuan_per_person": bad})
        assert response.status_code == 422 and 'aria-invalid="true"' in main_html(response)
    assert admin.post("/staff/monitoring/lines", data={"year": "2026", "yuan_per_person": "7500"}).status_code == 302
    assert "¥7,500" in main_html(staff.get("/staff/monitoring/lines"))
    assert db.session.scalars(select(MonitoringLine.yuan_per_person)).all() == [7500]


# --- the scan from the CLI and as a job ---------------------------------------------------------

def test_flask_monitoring_scan(app, world):
    income_drop(world.staff, world.h)
    db.session.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["monitoring", "scan"])
    assert result.exit_code == 0, result.output
    assert "1 new cases" in result.output
    assert "0 new cases, 1 already open" in runner.invoke(args=["monitoring", "scan"]).output
    assert runner.invoke(args=["monitoring", "scan", "--date", "yesterday"]).exit_code == 2
    assert runner.invoke(args=["monitoring", "scan", "--enqueue"]).exit_code == 2  # no REDIS_URL
    assert open_cases() == 1


def test_enqueue_runs_inline_without_redis_and_queues_with_it(app, world, monkeypatch):
    income_drop(world.staff, world.h)
    db.session.commit()
    assert jobs.enqueue_scan() == {"queued": False, "households": 2, "opened": 1, "already_open": 0}
    queued = []

    class Queue:
        def __init__(self, name, connection):
            self.name = name

        def enqueue(self, func, *args, **kwargs):
            queued.append((self.name, func, args))
            return SimpleNamespace(id="job-1")

    monkeypatch.setattr(job_queue, "rq_queue", lambda name: Queue(name, connection=None))
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:1/0")
    assert jobs.enqueue_scan() == {"queued": True, "job_id": "job-1"}
    assert queued == [("default", jobs.scan_job, (None,))]
    assert jobs.enqueue_verify(world.admin.id) == {"queued": True, "job_id": "job-1"}
    assert queued[-1] == ("default", jobs.verify_ledger_job, (world.admin.id,))


def test_the_ledger_verification_runs_inline_without_redis_and_is_recorded(app, world):
    from marketplace.core.audit import AuditRecord

    assert jobs.enqueue_verify(world.admin.id) == {"queued": False, "ok": True, "entries": 0}
    record = db.session.scalar(select(AuditRecord).where(AuditRecord.action == "ledger.verify"))
    assert (record.actor_id, record.object_type, record.after) == (world.admin.id, "ledger",
                                                                   {"ok": True, "entries": 0})
    runner = app.test_cli_runner()
    assert runner.invoke(args=["monitoring", "verify-ledger", "--enqueue"]).exit_code == 2  # no REDIS_URL
