"""Web security basics: CSRF on every state-changing HTML route, headers, cookie flags.
(tests/security/ holds the access matrix, sessions, rate limits and the API fuzzing.)"""
import re

import pytest
from werkzeug.routing import AnyConverter, IntegerConverter

from marketplace import create_app
from tests.conftest import PASSWORD
from tests.security.dbstate import Snapshot


def sample_value(converter):
    """A value each URL converter accepts: an int, one of an any() set, or a string."""
    if isinstance(converter, AnyConverter):
        return sorted(converter.items)[0]
    return 1 if isinstance(converter, IntegerConverter) else "x"


#: the methods that change things; every HTML route taking one of them needs a CSRF token
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


def html_write_routes(app):
    """(method, path) of every state-changing HTML route, whatever its method."""
    adapter = app.url_map.bind("localhost")
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/"):
            continue
        for method in sorted(rule.methods & set(WRITE_METHODS)):
            values = {arg: sample_value(rule._converters[arg]) for arg in rule.arguments}
            yield method, adapter.build(rule.endpoint, values, method=method)


def form_token(client, path="/login") -> str:
    html = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)


def test_every_state_changing_html_route_refuses_a_missing_csrf_token(app_factory, make):
    app = app_factory(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    routes = list(html_write_routes(app))
    assert len(routes) >= 12, routes  # the form routes are really enumerated
    for method, path in routes:
        response = client.open(path, method=method, data={"email": "a@example.com", "password": "x"})
        assert response.status_code == 400, (method, path)
        assert "form expired" in response.get_data(as_text=True), (method, path)


def test_a_signed_in_user_without_the_token_or_with_another_sessions_token_changes_nothing(app_factory, make):
    """The attack CSRF is about: a logged-in victim's browser made to post from another site."""
    app = app_factory(WTF_CSRF_ENABLED=True)
    coop = make.coop()
    victim, attacker = app.test_client(), app.test_client()
    owner = next(m.user for m in coop.memberships)
    response = victim.post("/login", data={"email": owner.email, "password": PASSWORD,
                                           "csrf_token": form_token(victim)})
    assert response.status_code == 302
    foreign = form_token(attacker)  # a valid token, but of the attacker's own session
    before = Snapshot()
    for method, path in html_write_routes(app):
        for data in ({"reason": "x"}, {"reason": "x", "csrf_token": foreign}):
            response = victim.open(path, method=method, data=data, headers={"X-CSRFToken": data.get("csrf_token", "")})
            assert response.status_code == 400, (method, path, data)
    assert before.changed_tables() == []
    assert victim.get("/account").status_code == 200  # still logged in: the refusals were CSRF's


def test_api_is_not_cookie_authenticated_so_needs_no_csrf(app_factory, make):
    app = app_factory(WTF_CSRF_ENABLED=True)
    response = app.test_client().post("/api/v1/auth/tokens", json={"email": "a@example.com", "password": "x"})
    assert response.status_code == 401
    browser, user = app.test_client(), make.user()  # a logged-in browser's cookie opens no API door
    browser.post("/login", data={"email": user.email, "password": PASSWORD, "csrf_token": form_token(browser)})
    assert browser.get("/account").status_code == 200
    assert browser.get("/api/v1/me").status_code == 401
    forged = {"name": "Forged", "province": "Shaanxi", "county": "C", "village": "V", "registration_no": "FORGED01"}
    assert browser.post("/api/v1/cooperatives", json=forged).status_code == 401


@pytest.mark.parametrize("path", ["/", "/products", "/login", "/api/v1/products"])
def test_security_headers(client, path):
    headers = client.get(path).headers
    csp = headers["Content-Security-Policy"]
    for directive in ("object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'", "script-src 'self'"):
        assert directive in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "Strict-Transport-Security" not in headers  # only in production


def test_production_config_hardens_cookies_and_sends_hsts(monkeypatch, tmp_path):
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    app = create_app("production", SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/p.db", UPLOAD_FOLDER=str(tmp_path))
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["SESSION_COOKIE_HTTPONLY"]
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax" and app.config["REMEMBER_COOKIE_SECURE"]
    response = app.test_client().get("/healthz")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_production_refuses_to_start_without_a_secret_key(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app("production")


def test_healthz_and_readyz(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    assert client.get("/readyz").get_json()["database"] == "up"


def test_a_wrong_method_is_answered_405_with_the_allowed_methods(client):
    page = client.delete("/login")
    assert page.status_code == 405 and "POST" in page.headers["Allow"] and "GET" in page.headers["Allow"]
    api = client.put("/api/v1/products", headers={"Accept": "application/json"})
    assert api.status_code == 405 and "GET" in api.headers["Allow"]
    assert api.get_json()["error"]["code"] == "method_not_allowed"
