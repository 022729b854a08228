"""HTML forms of the live shows. Times are typed as local date-times in China
time (Asia/Shanghai) and stored in UTC; prices are typed in yuan and stored in fen."""
from datetime import datetime
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (FieldList, FormField, HiddenField, IntegerField, SelectField, StringField, TelField,
                     TextAreaField)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from ..core.errors import Invalid
from ..core.money import parse_yuan

SHOW_ZONE = ZoneInfo("Asia/Shanghai")
LOCAL_FORMATS = ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M")
LINEUP_ROWS = 6


def _when_field(label):
    return StringField(label, validators=[DataRequired(), Length(max=19)], render_kw={"type": "datetime-local"})


class LineupRowForm(FlaskForm):
    class Meta:
        csrf = False  # a part of ShowForm, which carries the token

    product_id = SelectField(_l("Product"), validate_choice=False, validators=[Optional()])
    live_price = StringField(_l("Live price in yuan"), validators=[Optional(), Length(max=20)],
                             render_kw={"inputmode": "decimal"})
    quota = StringField(_l("Live quota (units)"), validators=[Optional(), Length(max=7)],
                        render_kw={"inputmode": "numeric"})
    per_buyer_limit = StringField(_l("Limit per buyer (optional)"), validators=[Optional(), Length(max=5)],
                                  render_kw={"inputmode": "numeric"})


class ShowForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=120)])
    description = TextAreaField(_l("Description"), validators=[Length(max=3000)])
    cover = FileField(_l("Cover image (JPEG, PNG or WebP)"))
    starts_at = _when_field(_l("Starts (China time)"))
    ends_at = _when_field(_l("Ends (China time)"))
    stream_url = StringField(_l("Stream address (.m3u8) or the player address of another platform"),
                             validators=[DataRequired(), Length(max=500)], render_kw={"inputmode": "url"})
    items = FieldList(FormField(LineupRowForm), min_entries=LINEUP_ROWS, max_entries=20)

    def set_products(self, products):
        options = [("", _l("No product"))]
        options += [(str(p.id), _("%(title)s (%(n)d in stock)", title=p.title, n=p.stock)) for p in products]
        for row in self.items:
            row.form.product_id.choices = options


class RescheduleForm(FlaskForm):
    starts_at = _when_field(_l("Starts (China time)"))
    ends_at = _when_field(_l("Ends (China time)"))


class ReplayForm(FlaskForm):
    replay_url = StringField(_l("Replay address (.m3u8 or a player address)"),
                             validators=[DataRequired(), Length(max=500)])


class QuotaForm(FlaskForm):
    product_id = IntegerField(validators=[DataRequired()])
    # InputRequired, not DataRequired: 0 (stop selling at the live price) is a valid quota
    quota = IntegerField(_l("Quota"), validators=[InputRequired(), NumberRange(min=0, max=100_000)])


class BuyForm(FlaskForm):
    product_id = IntegerField(validators=[DataRequired()])
    quantity = IntegerField(_l("Quantity"), default=1, validators=[DataRequired(), NumberRange(min=1, max=999)])


class BuyAddressForm(BuyForm):
    """The room's buy button for a buyer without a saved address: the same product and
    quantity, and where to ship (checked by the checkout's own address rules)."""

    with_address = HiddenField()  #: "1" when the address step posts
    name = StringField(_l("Recipient"), validators=[Optional(), Length(max=80)])
    phone = TelField(_l("Phone"), validators=[Optional(), Length(max=32)])
    province = StringField(_l("Province"), validators=[Optional(), Length(max=40)])
    city = StringField(_l("City"), validators=[Optional(), Length(max=60)])
    address = StringField(_l("Street address"), validators=[Optional(), Length(max=200)])

    def shipping(self) -> dict:
        return {k: (getattr(self, k).data or "").strip() for k in ("name", "phone", "province", "city", "address")}


def local_to_utc(text, field):
    """'2026-12-01T20:00' (China time) -> an aware datetime; a clear error otherwise."""
    raw = (text or "").strip()
    for fmt in LOCAL_FORMATS:
        try:
            return datetime.strptime(raw, fmt).replace(tzinfo=SHOW_ZONE)
        except ValueError:
            continue
    message = _l("Enter a date and time, e.g. 2026-12-01 20:00.")
    raise Invalid(message, fields={field: [message]})


def utc_to_local(value) -> str:
    """For pre-filling a datetime-local input."""
    return value.astimezone(SHOW_ZONE).strftime("%Y-%m-%dT%H:%M") if value else ""


def show_data(form) -> dict:
    return {"title": form.title.data, "description": form.description.data or "",
            "stream_url": (form.stream_url.data or "").strip(),
            "starts_at": local_to_utc(form.starts_at.data, "starts_at"),
            "ends_at": local_to_utc(form.ends_at.data, "ends_at")}


def lineup_items(form) -> list[dict]:
    """The filled lineup rows as the service's items; rows with a mistake get it beside the box."""
    items, bad = [], False
    for row in form.items:
        f = row.form
        if not f.product_id.data:
            continue
        item = {"product_id": f.product_id.data, "quota": (f.quota.data or "").strip(),
                "per_buyer_limit": (f.per_buyer_limit.data or "").strip() or None}
        try:
            item["live_price_fen"] = parse_yuan(f.live_price.data)
        except ValueError:
            f.live_price.errors = [_l("Enter the live price in yuan, e.g. 29.90.")]
            bad = True
        if not item["quota"].isdigit() or int(item["quota"]) < 1:
            f.quota.errors = [_l("Enter the number of units for the show, at least 1.")]
            bad = True
        if item["per_buyer_limit"] is not None and not item["per_buyer_limit"].isdigit():
            f.per_buyer_limit.errors = [_l("Enter a whole number, or leave it empty.")]
            bad = True
        items.append(item)
    if bad:
        raise Invalid(_l("Check the lineup rows marked below."), code="invalid_lineup")
    return items

