"""Sessions and their cookies: a new session at every login, a dead cookie after
logout or a password reset, and production cookies that a browser keeps to HTTPS,
hides from scripts and does not send from other sites.

(tests/auth/test_accounts.py covers the rest: nothing planted before login survives,
logout is POST only, a password change ends the other sessions, reset links work
once and expire, and "forgot password" does not tell whether an account exists.)"""
import re

import pytest

from marketplace import create_app
from marketplace.auth.services import issue_api_token
from marketplace.extensions import db
from tests.conftest import PASSWORD


def session_cookie(app, client):
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    return cookie.value if cookie else None


def session_key(client) -> str:
    """The server-side session a cookie names ("<user id>:<token>")."""
    with client.session_transaction() as s:
        return s.get("_user_id")


def replay(app, cookie_value):
    """A fresh browser holding a copied cookie, as a thief would."""
    thief = app.test_client()
    thief.set_cookie(app.config["SESSION_COOKIE_NAME"], cookie_value)
    return thief


def test_each_login_starts_a_new_session_and_replacing_the_cookie_is_needed(app, client, make):
    user = make.user()
    client.post("/cart/add", data={"product_id": make.product().id, "quantity": "1"})  # a visitor's session
    visitor = session_cookie(app, client)
    assert visitor is not None
    client.post("/login", data={"email": user.email, "password": PASSWORD})
    first = session_key(client)
    assert session_cookie(app, client) != visitor
    assert replay(app, visitor).get("/account").status_code == 302  # the visitor's cookie is no login
    client.post("/logout")
    client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert session_key(client) != first and session_key(client).startswith(f"{user.id}:")


def test_a_cookie_copied_before_logout_is_logged_out_too(app, client, make):
    user = make.user()
    client.post("/login", data={"email": user.email, "password": PASSWORD})
    stolen = session_cookie(app, client)
    assert replay(app, stolen).get("/account").status_code == 200
    client.post("/logout")
    response = replay(app, stolen).get("/account")
    assert response.status_code == 302 and response.location.startswith("/login")


def reset_link(app) -> str:
    body = app.extensions["mail_outbox"][-1].get_content()
    return re.search(r"http://localhost(/password/reset/\S+)", body).group(1)


def test_a_password_reset_ends_every_other_session_and_api_token(app, client, make, api):
    user = make.user()
    other_device = app.test_client()
    other_device.post("/login", data={"email": user.email, "password": PASSWORD})
    raw, _ = issue_api_token(user)
    db.session.commit()
    client.post("/password/forgot", data={"email": user.email})
    assert app.extensions["mail_outbox"][-1]["To"] == user.email  # mailed to the account only
    assert client.post(reset_link(app), data={"password": "new-orchard-passphrase"}).status_code == 302
    assert other_device.get("/account").status_code == 302
    assert api("get", "/me", headers={"Authorization": f"Bearer {raw}"}).status_code == 401
    assert client.get("/account").status_code == 200  # the one who reset it is logged in


@pytest.fixture
def production_app(monkeypatch, app, tmp_path):
    """The production config on the test database."""
    monkeypatch.setenv("SECRET_KEY", "p" * 40)
    prod = create_app("production", SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
                      UPLOAD_FOLDER=str(tmp_path))
    yield prod
    with prod.app_context():
        db.engine.dispose()  # its connections are closed, not left to the garbage collector


def set_cookies(response) -> list[str]:
    return response.headers.getlist("Set-Cookie")


def test_production_session_cookies_are_secure_httponly_samesite_host_only(production_app, make):
    user = make.user()
    browser = production_app.test_client()
    page = browser.get("/login", base_url="https://localhost")  # sets the cookie that holds the CSRF token
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    response = browser.post("/login", base_url="https://localhost", headers={"Referer": "https://localhost/login"},
                            data={"email": user.email, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    cookies = [c for c in set_cookies(response) if c.startswith("__Host-session=")]
    assert cookies, set_cookies(response)
    for cookie in cookies:
        flags = {part.strip().split("=")[0].lower(): part.strip() for part in cookie.split(";")[1:]}
        assert {"secure", "httponly", "samesite", "path"} <= set(flags), cookie
        assert flags["samesite"] == "SameSite=Lax" and flags["path"] == "Path=/"
        assert "domain" not in flags  # __Host-: sent back to this host only
