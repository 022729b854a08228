"""HTML forms for cooperatives."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import EmailField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from ..core.forms import choices
from ..core.regions import PROVINCES


def province_choices():
    from ..core.regions import province_label

    return choices([("", _l("Choose…"))] + [(p, province_label(p)) for p in PROVINCES])


class CooperativeForm(FlaskForm):
    name = StringField(_l("Cooperative name"), validators=[DataRequired(), Length(max=120)])
    province = SelectField(_l("Province"), validators=[DataRequired()])
    county = StringField(_l("County"), validators=[DataRequired(), Length(max=60)])
    village = StringField(_l("Village"), validators=[DataRequired(), Length(max=80)])
    registration_no = StringField(_l("Registration number"), validators=[DataRequired(), Length(max=40)])
    contact_name = StringField(_l("Contact person"), validators=[Length(max=80)])
    contact_phone = StringField(_l("Contact phone"), validators=[Length(max=32)])
    story = TextAreaField(_l("Your story"), validators=[Length(max=5000)])
    logo = FileField(_l("Logo (JPEG, PNG or WebP)"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.province.choices = province_choices()


class InviteForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    role = SelectField(_l("Role"), choices=choices([("manager", _l("Manager")), ("host", _l("Livestream host"))]))


class ReasonForm(FlaskForm):
    reason = StringField(_l("Reason"), validators=[Length(max=500)])
