"""Sign up, log in, lockout, log out, password change and reset, the users CLI."""
import re

import pytest

from marketplace.auth.models import Role, User
from marketplace.core.audit import AuditRecord
from marketplace.extensions import db
from tests.conftest import PASSWORD


def outbox(app):
    return app.extensions.get("mail_outbox", [])


def test_signup_logs_in_and_hashes_the_password(client):
    response = client.post("/signup", data={"display_name": "Wang Fang", "email": "Fang@Example.com",
                                            "password": PASSWORD})
    assert response.status_code == 302
    user = db.session.scalar(db.select(User))
    assert user.email == "fang@example.com" and user.role == Role.buyer
    assert PASSWORD not in user.password_hash
    assert "Wang Fang" in client.get("/account").get_data(as_text=True)


@pytest.mark.parametrize("password,message", [
    ("short1!", "at least 8"),
    ("password", "too common"),
    ("12345678", "too common"),
    ("x" * 129, "128 characters"),
])
def test_signup_refuses_weak_passwords_and_creates_nothing(client, password, message):
    response = client.post("/signup", data={"display_name": "A", "email": "a@example.com", "password": password})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count()).select_from(User)) == 0


@pytest.mark.parametrize("email", ["not-an-email", "a@b", "<script>@x.com", ""])
def test_signup_refuses_bad_emails(client, email):
    response = client.post("/signup", data={"display_name": "A", "email": email, "password": PASSWORD})
    assert response.status_code == 422
    assert db.session.scalar(db.select(db.func.count()).select_from(User)) == 0


def test_signup_with_a_taken_email_is_refused(client, make):
    make.user(email="taken@example.com")
    response = client.post("/signup", data={"display_name": "B", "email": "TAKEN@example.com", "password": PASSWORD})
    assert response.status_code == 409
    assert "already exists" in response.get_data(as_text=True)


def test_login_starts_a_fresh_session(client, make):
    user = make.user()
    with client.session_transaction() as s:
        s["planted"] = "by an attacker before login"
    client.post("/login", data={"email": user.email, "password": PASSWORD})
    with client.session_transaction() as s:
        assert "planted" not in s
        assert s["_user_id"].startswith(f"{user.id}:")


def test_wrong_password_and_unknown_email_get_the_same_answer(client, make):
    user = make.user()
    wrong = client.post("/login", data={"email": user.email, "password": "nope-nope-nope"}).get_data(as_text=True)
    unknown = client.post("/login", data={"email": "ghost@example.com", "password": "nope"}).get_data(as_text=True)
    message = "Email or password is wrong"
    assert message in wrong and message in unknown


def test_repeated_failures_lock_the_account_for_a_while(app, client, make):
    app.config["LOGIN_RATE_LIMIT"] = "1000 per minute"
    user = make.user()
    for _ in range(app.config["LOGIN_LOCKOUT_FAILURES"]):
        client.post("/login", data={"email": user.email, "password": "wrong-password"})
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 200  # the form again, not a redirect: still locked
    assert db.session.get(User, user.id).locked_until is not None
    assert db.session.scalar(db.select(AuditRecord).where(AuditRecord.action == "user.locked"))


def test_login_is_rate_limited(app, client, make):
    app.config["LOGIN_RATE_LIMIT"] = "3 per minute"
    codes = [client.post("/login", data={"email": "x@example.com", "password": "y"}).status_code for _ in range(4)]
    assert codes[-1] == 429


def test_logout_ends_the_session_and_is_post_only(client, make, login):
    login(make.user())
    assert client.get("/logout").status_code == 405
    client.post("/logout")
    assert client.get("/account").status_code == 302  # back to login


def test_password_change_logs_out_other_sessions(app, make, login, client):
    user = make.user()
    login(user)
    other = app.test_client()
    other.post("/login", data={"email": user.email, "password": PASSWORD})
    assert other.get("/account").status_code == 200
    new = "a-brand-new-passphrase"
    response = client.post("/account", data={"current_password": PASSWORD, "password": new})
    assert response.status_code == 302
    assert client.get("/account").status_code == 200  # this session goes on
    assert other.get("/account").status_code == 302  # the other one is over


def test_password_change_needs_the_current_password(client, make, login):
    login(make.user())
    response = client.post("/account", data={"current_password": "wrong", "password": "another-good-phrase"})
    assert response.status_code == 422 and "current password is wrong" in response.get_data(as_text=True)


def reset_link(app):
    body = outbox(app)[-1].get_content()
    return re.search(r"http://localhost(/password/reset/\S+)", body).group(1)


def test_password_reset_link_works_once(app, client, make):
    user = make.user()
    client.post("/password/forgot", data={"email": user.email})
    link = reset_link(app)
    assert client.post(link, data={"password": "fresh-mountain-honey"}).status_code == 302
    assert client.post(link, data={"password": "second-try-honey-x"}).status_code == 302
    client.post("/logout")
    assert client.post("/login", data={"email": user.email, "password": "fresh-mountain-honey"}).status_code == 302
    client.post("/logout")
    assert client.post("/login", data={"email": user.email, "password": "second-try-honey-x"}).status_code == 200


def test_password_reset_link_expires(app, client, make):
    app.config["PASSWORD_RESET_TTL"] = app.config["PASSWORD_RESET_TTL"] * 0 - app.config["PASSWORD_RESET_TTL"]
    user = make.user()
    client.post("/password/forgot", data={"email": user.email})
    response = client.get(reset_link(app))
    assert response.status_code == 302 and "/password/forgot" in response.location


def test_forgot_password_does_not_reveal_accounts(app, client):
    response = client.post("/password/forgot", data={"email": "nobody@example.com"}, follow_redirects=True)
    assert "If an account exists" in response.get_data(as_text=True)
    assert outbox(app) == []


def test_open_redirect_after_login_is_refused(client, make):
    user = make.user()
    response = client.post("/login?next=//evil.example/x", data={"email": user.email, "password": PASSWORD})
    assert response.location == "/"


def test_users_cli_creates_staff_with_password_from_stdin(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "create", "Staff@Example.com", "--role", "staff"],
                           input="county-office-staff-2026\n")
    assert result.exit_code == 0, result.output
    user = db.session.scalar(db.select(User).where(User.email == "staff@example.com"))
    assert user.role == Role.staff


def test_users_cli_refuses_a_weak_password(app):
    result = app.test_cli_runner().invoke(args=["users", "create", "a@example.com", "--role", "admin"],
                                          input="password\n")
    assert result.exit_code != 0 and "too common" in result.output
    assert db.session.scalar(db.select(db.func.count()).select_from(User)) == 0
