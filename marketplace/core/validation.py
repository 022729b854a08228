"""Field checks shared by HTML forms and the JSON API.

Services validate their own input with a `Checker`, so a rule lives in one place
whether the data came from a form, a CSV row or a JSON body. Errors collect per
field and are raised together as one `Invalid`.
"""
from datetime import date

from flask_babel import lazy_gettext as _l

from .errors import Invalid
from .money import MAX_PRICE_FEN


class Checker:
    def __init__(self, data: dict):
        self.data = data or {}
        self.errors: dict[str, list] = {}
        self.clean: dict = {}

    def fail(self, field, message):
        self.errors.setdefault(field, []).append(message)

    def text(self, field, *, max_len, min_len=1, required=True, multiline=False, default=""):
        raw = self.data.get(field)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            if required:
                self.fail(field, _l("This field is required."))
            else:
                self.clean[field] = default
            return
        if not isinstance(raw, str):
            self.fail(field, _l("Enter text."))
            return
        value = raw.strip() if multiline else " ".join(raw.split())
        if "\x00" in value or not _encodable(value):
            self.fail(field, _l("Enter text without control characters."))
        elif len(value) < min_len:
            self.fail(field, _l("Enter at least %(n)d characters.", n=min_len))
        elif len(value) > max_len:
            self.fail(field, _l("Enter at most %(n)d characters.", n=max_len))
        else:
            self.clean[field] = value

    def integer(self, field, *, minimum, maximum, required=True, default=None, message=None):
        raw = self.data.get(field)
        if raw is None or raw == "":
            if required:
                self.fail(field, _l("This field is required."))
            else:
                self.clean[field] = default
            return
        value = _as_int(raw)
        if value is None:
            self.fail(field, _l("Enter a whole number."))
        elif not minimum <= value <= maximum:
            self.fail(field, message or _l("Enter a number from %(lo)s to %(hi)s.", lo=minimum, hi=maximum))
        else:
            self.clean[field] = value

    def price_fen(self, field, *, required=True):
        self.integer(field, minimum=1, maximum=MAX_PRICE_FEN, required=required,
                     message=_l("Enter a price from ¥0.01 to ¥100,000."))

    def choice(self, field, choices, *, required=True, default=None):
        raw = self.data.get(field)
        if raw in (None, ""):
            if required:
                self.fail(field, _l("This field is required."))
            else:
                self.clean[field] = default
            return
        if raw not in choices:
            self.fail(field, _l("Choose one of the listed options."))
        else:
            self.clean[field] = raw

    def boolean(self, field, default=False):
        raw = self.data.get(field, default)
        if isinstance(raw, str):
            raw = raw.strip().lower() in ("1", "true", "yes", "on", "y", "是")
        self.clean[field] = bool(raw)

    def day(self, field, *, required=False, not_after=None):
        raw = self.data.get(field)
        if raw in (None, ""):
            if required:
                self.fail(field, _l("This field is required."))
            else:
                self.clean[field] = None
            return
        try:
            value = raw if isinstance(raw, date) else date.fromisoformat(str(raw).strip())
        except ValueError:
            self.fail(field, _l("Enter a date as YYYY-MM-DD."))
            return
        if not_after and value > not_after:
            self.fail(field, _l("The date cannot be in the future."))
        else:
            self.clean[field] = value

    def done(self) -> dict:
        if self.errors:
            name, messages = next(iter(self.errors.items()))
            raise Invalid(messages[0], code="invalid", fields=self.errors)
        return self.clean


def _encodable(text: str) -> bool:
    """False for lone surrogates (valid JSON escapes, but not storable text)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _as_int(raw):
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw
    if isinstance(raw, str) and raw.strip().lstrip("-").isdigit() and len(raw.strip()) < 19:
        return int(raw.strip())
    return None
