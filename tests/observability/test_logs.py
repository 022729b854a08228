"""Request ids and JSON logs: an operator follows one request through every line it wrote."""
import json
import logging
import re

import pytest

from marketplace.auth.services import issue_api_token
from marketplace.extensions import db
from tests.orders.helpers import ADDRESS, items


@pytest.fixture
def json_app(app_factory, app):
    """The app logging JSON to stderr, as in production (on the test database)."""
    return app_factory(LOG_FORMAT="json")


def lines(capsys) -> list[dict]:
    return [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]


def test_a_sane_request_id_from_the_proxy_is_kept_and_echoed(client):
    response = client.get("/healthz", headers={"X-Request-ID": "nginx-5f2c9a1e"})
    assert response.headers["X-Request-ID"] == "nginx-5f2c9a1e"


@pytest.mark.parametrize("sent", [None, "", "has spaces", "x" * 129, "<script>", "new\u2028line"])
def test_a_missing_or_unsafe_request_id_is_replaced_by_a_new_one(client, sent):
    headers = {} if sent is None else {"X-Request-ID": sent}
    first = client.get("/healthz", headers=headers).headers["X-Request-ID"]
    second = client.get("/healthz", headers=headers).headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", first) and first != second


def bearer(user) -> dict:
    raw, _ = issue_api_token(user)
    db.session.commit()
    return {"Authorization": f"Bearer {raw}"}


def test_every_line_of_a_request_carries_its_id_and_the_access_line_its_facts(json_app, make, capsys):
    client = json_app.test_client()
    buyer, product = make.user(), make.product(stock=5)
    auth = bearer(buyer)
    placed = client.post("/api/v1/checkouts", headers={**auth, "X-Request-ID": "req-place"},
                         json={"items": items((product, 1)), "shipping_address": ADDRESS})
    assert placed.status_code == 201
    pay_path = f"/api/v1/checkouts/{placed.get_json()['id']}/demo-confirm"
    assert client.post(pay_path, headers={**auth, "X-Request-ID": "req-pay"}).status_code == 200
    written = lines(capsys)

    pay_lines = [line for line in written if line["request_id"] == "req-pay"]
    payment_log = next(line for line in pay_lines if line["logger"] == "marketplace.payments")
    assert "payment_intent.succeeded" in payment_log["message"] and payment_log["user_id"] == buyer.id
    access = next(line for line in pay_lines if line["logger"] == "marketplace.access")
    assert (access["method"], access["path"], access["status"]) == ("POST", pay_path, 200)
    assert access["user_id"] == buyer.id and access["duration_ms"] >= 0
    assert access["level"] == "INFO" and access["time"] and access["process"]
    access_ids = {line["request_id"] for line in written if line["logger"] == "marketplace.access"}
    assert access_ids == {"req-place", "req-pay"}


def test_anonymous_requests_log_no_user_and_probes_stay_quiet(json_app, capsys):
    client = json_app.test_client()
    client.get("/products", headers={"X-Request-ID": "req-browse"})
    client.get("/healthz")
    client.get("/readyz")
    client.get("/no-such-page", headers={"X-Request-ID": "req-missing"})
    access = {line["request_id"]: line for line in lines(capsys) if line["logger"] == "marketplace.access"}
    assert set(access) == {"req-browse", "req-missing"}
    assert access["req-browse"]["user_id"] is None and access["req-missing"]["status"] == 404


def test_lines_outside_a_request_have_no_request_id(json_app, capsys):
    logging.getLogger("marketplace.jobs").warning("reservation sweep took %ss", 12)
    line = next(line for line in lines(capsys) if line["logger"] == "marketplace.jobs")
    assert line["message"] == "reservation sweep took 12s" and line["request_id"] is None


def test_text_logs_for_people_show_the_request_id(app_factory, app, capsys):
    app_factory(LOG_FORMAT="text", TESTING=False)
    logging.getLogger("marketplace.mail").warning("outside")
    assert re.search(r"WARNING marketplace\.mail \[-\] outside", capsys.readouterr().err)


@pytest.mark.parametrize("setting,value,complaint", [("LOG_FORMAT", "xml", "LOG_FORMAT must be one of"),
                                                     ("LOG_LEVEL", "LOUD", "LOG_LEVEL must be a level name")])
def test_a_wrong_log_setting_stops_the_app_with_a_clear_message(app_factory, setting, value, complaint):
    with pytest.raises(RuntimeError, match=complaint):
        app_factory(**{setting: value})
