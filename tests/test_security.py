"""Web security basics: CSRF on every HTML form route, headers, cookie flags."""
import pytest
from werkzeug.routing import AnyConverter, IntegerConverter

from marketplace import create_app


def sample_value(converter):
    """A value each URL converter accepts: an int, one of an any() set, or a string."""
    if isinstance(converter, AnyConverter):
        return sorted(converter.items)[0]
    return 1 if isinstance(converter, IntegerConverter) else "x"


def html_post_routes(app):
    adapter = app.url_map.bind("localhost")
    for rule in app.url_map.iter_rules():
        if "POST" in rule.methods and not rule.rule.startswith("/api/"):
            values = {arg: sample_value(rule._converters[arg]) for arg in rule.arguments}
            yield adapter.build(rule.endpoint, values, method="POST")


def test_every_html_post_route_refuses_a_missing_csrf_token(app_factory, make):
    app = app_factory(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    routes = list(html_post_routes(app))
    assert len(routes) >= 12, routes  # the form routes are really enumerated
    for path in routes:
        response = client.post(path, data={"email": "a@example.com", "password": "x"})
        assert response.status_code == 400, path
        assert "form expired" in response.get_data(as_text=True), path


def test_api_is_not_cookie_authenticated_so_needs_no_csrf(app_factory, make):
    app = app_factory(WTF_CSRF_ENABLED=True)
    response = app.test_client().post("/api/v1/auth/tokens", json={"email": "a@example.com", "password": "x"})
    assert response.status_code == 401


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
