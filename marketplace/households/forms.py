"""HTML forms for the household register (staff) and the cooperative's household
pages. The services validate the values; these forms only carry them, so a rule
lives in one place whether the data came from a form, a CSV file or the API."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, DateField, RadioField, SelectField, StringField
from wtforms.validators import Length, Optional

from ..coops.forms import province_choices
from ..core.clock import local_today
from ..core.forms import choices
from .models import HouseholdStatus, LinkKind, PayoutMethod

STATUS_LABELS = {"stable": _l("Stable"), "monitored": _l("Monitored"), "assisted": _l("Assisted"),
                 "exited": _l("Exited")}
KIND_LABELS = {"supplier": _l("Supplier of raw goods"), "wage": _l("Wages from workshop work"),
               "dividend": _l("Dividend on shares"), "land_lease": _l("Land lease")}
METHOD_LABELS = {"cash": _l("Cash"), "bank_transfer": _l("Bank transfer"), "mobile_payment": _l("Mobile payment")}
LINK_STATUS_LABELS = {"proposed": _l("Awaiting approval"), "approved": _l("Approved"), "rejected": _l("Rejected"),
                      "superseded": _l("Replaced by a newer version")}
ENTRY_LABELS = {"accrual": _l("Share of a sale"), "reversal": _l("Refund reversal"), "payout": _l("Payout")}


def labels() -> dict:
    """Translated names of the enum values, for templates (keyed by .value)."""
    return {"status": STATUS_LABELS, "kind": KIND_LABELS, "method": METHOD_LABELS,
            "link_status": LINK_STATUS_LABELS, "entry": ENTRY_LABELS}


def status_choices(blank=None):
    head = [("", blank)] if blank else []
    return choices(head + [(s.value, STATUS_LABELS[s.value]) for s in HouseholdStatus])


def _as_text(value):
    # the edit form starts from the household's integers; a post that leaves the field
    # out keeps that integer, which the Length check cannot measure
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class HouseholdForm(FlaskForm):
    file_no = StringField(_l("File and card number (档案号)"), validators=[Length(max=40)])
    head_name = StringField(_l("Head of household"), validators=[Length(max=80)])
    id_number = StringField(_l("Identity number of the head"), validators=[Length(max=24)])
    province = SelectField(_l("Province"))
    county = StringField(_l("County"), validators=[Length(max=60)])
    township = StringField(_l("Township"), validators=[Length(max=60)])
    village = StringField(_l("Village"), validators=[Length(max=80)])
    members = StringField(_l("Members"), validators=[Length(max=4)], filters=[_as_text])
    working_members = StringField(_l("Members able to work"), validators=[Length(max=4)], filters=[_as_text])
    status = SelectField(_l("Status"))
    consent = BooleanField(_l("The household consents to the use of its data"))
    enrolled_at = DateField(_l("Enrolled on"), validators=[Optional()])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.province.choices = province_choices()
        self.status.choices = status_choices()

    def data_for_service(self, keep_id_number=False) -> dict:
        """The fields as the service wants them; on edit an empty identity
        number means "keep the one on file"."""
        names = ("file_no", "head_name", "province", "county", "township", "village", "members",
                 "working_members", "status", "consent", "enrolled_at")
        data = {name: getattr(self, name).data for name in names}
        if self.id_number.data or not keep_id_number:
            data["id_number"] = self.id_number.data
        return data


class FilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search form changes nothing

    q = StringField(_l("File number or head of household"), validators=[Optional(), Length(max=80)])
    county = SelectField(_l("County"), validators=[Optional()])
    village = StringField(_l("Village"), validators=[Optional(), Length(max=80)])
    status = SelectField(_l("Status"), validators=[Optional()])

    def __init__(self, counties, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.county.choices = choices([("", _l("All counties"))] + [(c, c) for c in counties])
        self.status.choices = status_choices(blank=_l("Any status"))


class ImportForm(FlaskForm):
    file = FileField(_l("CSV file (UTF-8)"))


class DecideForm(FlaskForm):
    note = StringField(_l("Note (optional)"), validators=[Optional(), Length(max=500)])


class ProposeLinkForm(FlaskForm):
    file_no = StringField(_l("The household's file and card number"), validators=[Length(max=40)])
    kind = SelectField(_l("Kind of link"))
    product_id = SelectField(_l("Applies to"))
    rule = RadioField(_l("Rule"), default="share", choices=choices([
        ("share", _l("A share of each sale")), ("fixed", _l("A fixed amount per unit sold"))]))
    share_percent = StringField(_l("Share in percent (up to two decimals)"), validators=[Length(max=10)])
    fixed_yuan = StringField(_l("Amount per unit in yuan"), validators=[Length(max=12)])
    valid_from = DateField(_l("Valid from"), default=local_today, validators=[Optional()])
    valid_to = DateField(_l("Valid until (optional)"), validators=[Optional()])
    note = StringField(_l("Note (optional)"), validators=[Optional(), Length(max=500)])

    def __init__(self, products, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = choices([(k.value, KIND_LABELS[k.value]) for k in LinkKind])
        self.product_id.choices = choices([("", _l("The whole cooperative"))] +
                                          [(str(p.id), p.title) for p in products])


class PayoutForm(FlaskForm):
    amount = StringField(_l("Amount paid in yuan"), validators=[Length(max=14)])
    method = SelectField(_l("How it was paid"))
    reference = StringField(_l("Reference number (optional)"), validators=[Optional(), Length(max=80)])
    paid_on = DateField(_l("Paid on"), default=local_today, validators=[Optional()])
    receipt = FileField(_l("Photo of the receipt (optional)"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.method.choices = choices([(m.value, METHOD_LABELS[m.value]) for m in PayoutMethod])
