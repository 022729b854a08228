"""Guessing passwords and probing emails: rate limits per address on every door
(HTML and API login, signup, password reset), a lock on the account after repeated
failures, and answers that never tell whether an email has an account.

(tests/auth/test_accounts.py already shows the HTML login limited for one email, the
lock after ten failures, and a wrong password answered like an unknown email.)"""
from datetime import timedelta

import pytest

from marketplace.auth.models import User
from marketplace.core.db import utcnow
from marketplace.extensions import db
from tests.conftest import PASSWORD, main_html

WRONG = "not-the-password-1"


def lock(app, client, user):
    for _ in range(app.config["LOGIN_LOCKOUT_FAILURES"]):
        client.post("/login", data={"email": user.email, "password": WRONG})
    db.session.expire_all()
    assert db.session.get(User, user.id).locked_until is not None


def page_without(response, email) -> str:
    """The page's main part with the typed email taken out (the form shows it back)."""
    return main_html(response).replace(email, "EMAIL")


@pytest.fixture
def no_rate_limit(app):
    app.config["LOGIN_RATE_LIMIT"] = "10000 per minute"


def test_locked_unknown_and_wrong_all_get_the_same_page(app, client, make, no_rate_limit):
    locked, other = make.user(), make.user()
    lock(app, client, locked)
    answers = {
        "locked, right password": (client.post("/login", data={"email": locked.email, "password": PASSWORD}),
                                   locked.email),
        "unknown email": (client.post("/login", data={"email": "nobody@example.com", "password": PASSWORD}),
                          "nobody@example.com"),
        "wrong password": (client.post("/login", data={"email": other.email, "password": WRONG}), other.email),
    }
    pages = {name: (response.status_code, page_without(response, email))
             for name, (response, email) in answers.items()}
    assert len(set(pages.values())) == 1, pages
    assert "Email or password is wrong" in pages["unknown email"][1]


def test_the_api_locks_too_and_answers_locked_like_unknown(app, api, make, no_rate_limit):
    user = make.user()
    for _ in range(app.config["LOGIN_LOCKOUT_FAILURES"]):
        assert api("post", "/auth/tokens", json={"email": user.email, "password": WRONG}).status_code == 401
    locked = api("post", "/auth/tokens", json={"email": user.email, "password": PASSWORD})
    unknown = api("post", "/auth/tokens", json={"email": "nobody@example.com", "password": PASSWORD})
    assert locked.status_code == unknown.status_code == 401
    assert locked.get_json() == unknown.get_json()


def test_the_lock_lifts_by_itself_after_its_time(app, client, make, no_rate_limit):
    user = make.user()
    lock(app, client, user)
    db.session.get(User, user.id).locked_until = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert client.post("/login", data={"email": user.email, "password": PASSWORD}).status_code == 302


def test_html_login_is_limited_per_address_whatever_the_email(app, client):
    app.config["LOGIN_RATE_LIMIT"] = "3 per minute"
    codes = [client.post("/login", data={"email": f"guess{n}@example.com", "password": WRONG}).status_code
             for n in range(4)]
    assert codes == [200, 200, 200, 429]


@pytest.mark.parametrize("path,form", [
    ("/signup", lambda n: {"display_name": "Spam", "email": f"spam{n}@example.com", "password": PASSWORD}),
    ("/password/forgot", lambda n: {"email": f"probe{n}@example.com"}),
])
def test_signup_and_password_reset_are_limited_per_address(app, client, path, form):
    app.config["SIGNUP_RATE_LIMIT"] = "2 per minute"
    codes = [client.post(path, data=form(n)).status_code for n in range(3)]
    assert codes[-1] == 429 and 429 not in codes[:-1]
    assert "Too many attempts" in client.post(path, data=form(9)).get_data(as_text=True)


@pytest.mark.parametrize("path,limit,body", [
    ("/auth/tokens", "LOGIN_RATE_LIMIT", lambda n: {"email": f"guess{n}@example.com", "password": WRONG}),
    ("/auth/signup", "SIGNUP_RATE_LIMIT", lambda n: {"email": f"bot{n}@example.com", "password": PASSWORD,
                                                     "display_name": "Bot"}),
])
def test_api_login_and_signup_are_limited_per_address(app, api, path, limit, body):
    app.config[limit] = "2 per minute"
    answers = [api("post", path, json=body(n)) for n in range(3)]
    assert 429 not in [a.status_code for a in answers[:2]]
    assert answers[-1].status_code == 429
    assert answers[-1].get_json()["error"]["code"] == "rate_limited"
