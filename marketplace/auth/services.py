"""Account verbs: sign up, authenticate, change and reset passwords, API tokens."""
import hashlib
import secrets
from datetime import timedelta
from functools import cache

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import bindparam, select
from sqlalchemy.orm import lazyload

from ..core import audit
from ..core.db import utcnow
from ..core.errors import Conflict, Invalid, Unauthorized
from ..extensions import db
from .models import ApiToken, Role, User, UserSession
from .passwords import DUMMY_HASH, hash_password, password_problem, verify_password


def normalize_email(raw: str) -> str:
    try:
        return validate_email((raw or "").strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        raise Invalid(_l("Enter a valid email address."), code="invalid_email",
                      fields={"email": [_l("Enter a valid email address.")]}) from None


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == email.strip().lower()))


def create_user(email, password, display_name, role=Role.buyer, actor=None) -> User:
    email = normalize_email(email)
    display_name = (display_name or "").strip()
    if not display_name or len(display_name) > 80:
        raise Invalid(_l("Enter a name of 1 to 80 characters."), code="invalid_name",
                      fields={"display_name": [_l("Enter a name of 1 to 80 characters.")]})
    problem = password_problem(password, [email, display_name])
    if problem:
        raise Invalid(problem, code="weak_password", fields={"password": [problem]})
    if find_user_by_email(email):
        raise Conflict(_l("An account with this email already exists."), code="email_taken",
                       fields={"email": [_l("An account with this email already exists.")]})
    user = User(email=email, display_name=display_name, password_hash=hash_password(password),
                role=Role(role))
    db.session.add(user)
    db.session.flush()
    audit.record(actor or user, "user.create", user, after={"email": email, "role": user.role.value})
    _accept_invitations(user)
    return user


def _accept_invitations(user):
    # Imported here: coops depends on auth, not the reverse, except for this hook.
    from ..coops.services import accept_pending_invitations

    accept_pending_invitations(user)


def authenticate(email: str, password: str) -> User:
    """Return the user or raise Unauthorized with one message for every failure,
    so that the answer never tells whether an email has an account."""
    user = find_user_by_email(email or "")
    failure = Unauthorized(_l("Email or password is wrong, or the account is locked for a while."),
                           code="invalid_credentials")
    if user is None:
        verify_password(DUMMY_HASH, password)
        raise failure
    now = utcnow()
    if user.locked_until and user.locked_until > now:
        raise failure
    if not user.active or not verify_password(user.password_hash, password):
        user.failed_logins += 1
        if user.failed_logins >= current_app.config["LOGIN_LOCKOUT_FAILURES"]:
            user.locked_until = now + timedelta(minutes=current_app.config["LOGIN_LOCKOUT_MINUTES"])
            user.failed_logins = 0
            audit.record(None, "user.locked", user)
        db.session.commit()  # the failure count must survive the error response
        raise failure
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    return user


def open_session(user: User, user_agent: str = "") -> str:
    """Record a new browser session; returns the raw token for the cookie."""
    raw = secrets.token_urlsafe(32)
    db.session.add(UserSession(user_id=user.id, token_hash=ApiToken.hash(raw), user_agent=user_agent[:200]))
    db.session.flush()
    user.session_token = raw
    return raw


def user_for_session(user_id: int, raw: str) -> User | None:
    row = db.session.scalar(select(UserSession).where(UserSession.token_hash == ApiToken.hash(raw)))
    if row is None or row.revoked_at or row.user_id != user_id:
        return None
    user = db.session.get(User, user_id)
    if user is None or not user.active:
        return None
    user.session_token = raw
    return user


def close_session(user: User) -> None:
    """End the current session (logout)."""
    if user.session_token:
        row = db.session.scalar(select(UserSession).where(
            UserSession.token_hash == ApiToken.hash(user.session_token)))
        if row and not row.revoked_at:
            row.revoked_at = utcnow()


def close_other_sessions(user: User) -> None:
    """End every session and API token of this user except the current session."""
    keep = ApiToken.hash(user.session_token) if user.session_token else None
    for row in db.session.scalars(select(UserSession).where(
            UserSession.user_id == user.id, UserSession.revoked_at.is_(None))):
        if row.token_hash != keep:
            row.revoked_at = utcnow()
    for token in user_tokens(user):
        token.revoked_at = utcnow()


def change_password(user: User, current: str, new: str) -> None:
    if not verify_password(user.password_hash, current):
        raise Invalid(_l("The current password is wrong."), code="wrong_password",
                      fields={"current_password": [_l("The current password is wrong.")]})
    set_password(user, new)


def set_password(user: User, new: str) -> None:
    problem = password_problem(new, [user.email, user.display_name])
    if problem:
        raise Invalid(problem, code="weak_password", fields={"password": [problem]})
    user.password_hash = hash_password(new)
    close_other_sessions(user)
    audit.record(user, "user.password_change", user)


# --- password reset: a signed, expiring link that works once --------------------

def _reset_serializer():
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="password-reset")


def _password_fingerprint(user: User) -> str:
    # Part of the token: once the password changes, every earlier link is dead.
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def make_reset_token(user: User) -> str:
    return _reset_serializer().dumps({"uid": user.id, "fp": _password_fingerprint(user)})


def user_for_reset_token(token: str) -> User | None:
    max_age = int(current_app.config["PASSWORD_RESET_TTL"].total_seconds())
    try:
        data = _reset_serializer().loads(token, max_age=max_age)
    except (SignatureExpired, BadSignature):
        return None
    user = db.session.get(User, data.get("uid")) if isinstance(data, dict) else None
    if user is None or data.get("fp") != _password_fingerprint(user):
        return None
    return user


# --- API tokens -------------------------------------------------------------------

def issue_api_token(user: User) -> tuple[str, ApiToken]:
    raw = secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, token_hash=ApiToken.hash(raw),
                     expires_at=utcnow() + current_app.config["API_TOKEN_TTL"])
    db.session.add(token)
    db.session.flush()
    return raw, token


@cache
def _token_query(extend=None):
    # Every API request asks this first. One statement: the user as the one ORM object the
    # views need, the token as plain columns (an ORM token, and the membership joined in,
    # cost more Python than the query itself). The membership loads when a view reads it;
    # the checkout does not. Built once (per `extend`): generating the cache key of a
    # statement with loader options costs more than running it.
    t = ApiToken.__table__.c
    stmt = (select(User, t.id.label("token_id"), t.expires_at, t.revoked_at)
            .join_from(User, ApiToken, ApiToken.user_id == User.id)
            .where(t.token_hash == bindparam("token_hash"))
            .options(lazyload(User.membership)))
    return stmt if extend is None else extend(stmt)


def user_for_api_token(raw: str, extend=None, params=None) -> tuple[User, int, list] | None:
    """(the user, the token's id, the statement's rows) of a live token of an active
    account, else None. `extend(statement)`, a module-level function, adds to the token's
    statement what the caller reads next (outer-joined, `params` its values): one round
    trip for both, its columns in the rows."""
    rows = db.session.execute(_token_query(extend), {"token_hash": ApiToken.hash(raw), **(params or {})}).all()
    row = rows[0] if rows else None
    if row is None or row.revoked_at or row.expires_at <= utcnow() or not row.User.active:
        return None
    return row.User, row.token_id, rows


def user_tokens(user: User):
    return db.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id,
                                                     ApiToken.revoked_at.is_(None))).all()


def revoke_api_token(token_id: int) -> None:
    db.session.get(ApiToken, token_id).revoked_at = utcnow()
