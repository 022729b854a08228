"""Password policy: at least 8 characters and not common or easily guessed.

zxcvbn checks against the well-known leaked-password lists, dictionaries and
keyboard patterns; a score below 2 means an attacker guesses it quickly.
"""
from flask import current_app
from flask_babel import lazy_gettext as _l
from werkzeug.security import check_password_hash, generate_password_hash
from zxcvbn import zxcvbn

MIN_LENGTH = 8
MAX_LENGTH = 128  # long enough for pass phrases, short enough to bound hashing work


def password_problem(password: str, user_inputs=()) -> str | None:
    """None when acceptable, else a message that says what to change."""
    if len(password or "") < MIN_LENGTH:
        return _l("Use at least %(n)d characters.", n=MIN_LENGTH)
    if len(password) > MAX_LENGTH:
        return _l("Use at most %(n)d characters.", n=MAX_LENGTH)
    # zxcvbn refuses (ValueError) passwords past 72 characters: judge their first 72
    if zxcvbn(password[:72], user_inputs=[u for u in user_inputs if u])["score"] < 2:
        return _l("This password is too common or easy to guess; try a longer phrase.")
    return None


def hash_password(password: str) -> str:
    # scrypt by default; the test config picks a cheaper method to keep tests fast
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


def verify_password(password_hash: str, password: str) -> bool:
    return check_password_hash(password_hash, password or "")


#: a hash to verify against when the account does not exist, so that a login for
#: an unknown email takes as long as one for a known email
DUMMY_HASH = generate_password_hash("not-a-real-password")
