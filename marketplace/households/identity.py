"""Resident identity numbers (GB 11643-1999): checksum, encryption at rest, masking.

The number is stored encrypted (Fernet, key from ID_NUMBER_KEY or derived from
SECRET_KEY) plus a keyed hash for uniqueness checks; only programme staff see it
unmasked, and every unmasking is audit-logged by the caller.
"""
import base64
import hashlib
import hmac
from datetime import date

from cryptography.fernet import Fernet
from flask import current_app

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


def normalize(raw: str) -> str:
    return (raw or "").strip().upper().replace(" ", "")


def is_valid(number: str) -> bool:
    """18 characters, a real birth date, and the ISO 7064 mod 11-2 check character."""
    n = normalize(number)
    if len(n) != 18 or not n[:17].isdigit() or n[17] not in "0123456789X":
        return False
    try:
        date(int(n[6:10]), int(n[10:12]), int(n[12:14]))
    except ValueError:
        return False
    return _CHECK[sum(int(d) * w for d, w in zip(n[:17], _WEIGHTS)) % 11] == n[17]


def with_check_digit(first17: str) -> str:
    """Complete 17 digits with their check character (for demo and test data)."""
    return first17 + _CHECK[sum(int(d) * w for d, w in zip(first17, _WEIGHTS)) % 11]


def mask(number: str) -> str:
    """610426********1234: region and the last four, nothing that identifies a person."""
    n = normalize(number)
    return n[:6] + "*" * (len(n) - 10) + n[-4:] if len(n) > 10 else "*" * len(n)


def _key() -> bytes:
    configured = current_app.config.get("ID_NUMBER_KEY")
    if configured:
        return configured.encode()
    digest = hashlib.sha256(b"id-number-key:" + current_app.config["SECRET_KEY"].encode()).digest()
    return base64.urlsafe_b64encode(digest)


def encrypt(number: str) -> str:
    return Fernet(_key()).encrypt(normalize(number).encode()).decode()


def decrypt(token: str) -> str:
    return Fernet(_key()).decrypt(token.encode()).decode()


def lookup_hash(number: str) -> str:
    """Keyed hash used to refuse a duplicate number without decrypting every row."""
    return hmac.new(_key(), normalize(number).encode(), hashlib.sha256).hexdigest()
