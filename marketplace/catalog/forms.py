"""HTML forms for products. Prices are typed in yuan and stored in fen."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from ..core.forms import choices
from .categories import CATEGORIES


class ProductForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=120)])
    category = SelectField(_l("Category"), validators=[DataRequired()])
    description = TextAreaField(_l("Description"), validators=[Length(max=5000)])
    origin = StringField(_l("Origin"), validators=[Length(max=120)])
    unit = StringField(_l("Unit (e.g. 500 g bag)"), validators=[DataRequired(), Length(max=40)])
    price = StringField(_l("Price in yuan"), validators=[DataRequired(), Length(max=20)])
    stock = StringField(_l("Stock (units)"), validators=[DataRequired(), Length(max=10)])
    per_buyer_limit = StringField(_l("Limit per buyer (optional)"), validators=[Optional(), Length(max=6)])
    harvest_date = StringField(_l("Harvest date (YYYY-MM-DD)"), validators=[Optional(), Length(max=10)])
    shelf_life_days = StringField(_l("Shelf life in days"), validators=[Optional(), Length(max=5)])
    status = SelectField(_l("Status"), choices=choices([("draft", _l("Draft")), ("active", _l("On sale")),
                                                        ("archived", _l("Archived"))]))
    surplus = BooleanField(_l("Surplus: these goods failed to sell and need buyers"))
    photo = FileField(_l("Add a photo (JPEG, PNG or WebP)"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.category.choices = choices([("", _l("Choose…"))] + list(CATEGORIES.items()))


class ImageForm(FlaskForm):
    photo = FileField(_l("Photo"))


class ImportForm(FlaskForm):
    file = FileField(_l("CSV file (UTF-8)"))
