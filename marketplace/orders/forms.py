"""HTML forms for buying."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, RadioField, StringField, TelField
from wtforms.validators import DataRequired, Length, NumberRange, Optional


class AddToCartForm(FlaskForm):
    product_id = IntegerField(validators=[DataRequired()])
    quantity = IntegerField(_l("Quantity"), default=1, validators=[DataRequired(), NumberRange(min=1, max=999)])


class AddressForm(FlaskForm):
    saved_address = RadioField(_l("Ship to"), coerce=str, validators=[Optional()], validate_choice=False)
    name = StringField(_l("Recipient"), validators=[Optional(), Length(max=80)])
    phone = TelField(_l("Phone"), validators=[Optional(), Length(max=32)])
    province = StringField(_l("Province"), validators=[Optional(), Length(max=40)])
    city = StringField(_l("City"), validators=[Optional(), Length(max=60)])
    address = StringField(_l("Street address"), validators=[Optional(), Length(max=200)])


class ShipForm(FlaskForm):
    carrier = StringField(_l("Carrier"), validators=[DataRequired(), Length(max=60)])
    tracking_no = StringField(_l("Tracking number"), validators=[DataRequired(), Length(max=60)])
