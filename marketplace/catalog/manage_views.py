"""Cooperative members manage their own products: create, edit, photos, archive, CSV import."""
from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from ..coops.services import ensure_member
from ..core.errors import DomainError, Invalid
from ..core.forms import EmptyForm, apply_errors, form_status
from ..core.money import fen_to_yuan_str, parse_yuan
from ..extensions import db
from . import services
from .csv_import import import_products
from .forms import ImageForm, ImportForm, ProductForm

bp = Blueprint("manage", __name__, url_prefix="/my/products")


def _coop():
    if not current_user.membership:
        return None
    coop = current_user.membership.cooperative
    ensure_member(current_user, coop, services.EDITORS)
    return coop


def _form_data(form):
    data = {k: getattr(form, k).data for k in ("title", "category", "description", "origin", "unit",
                                               "stock", "per_buyer_limit", "harvest_date",
                                               "shelf_life_days", "status", "surplus")}
    try:
        data["price_fen"] = parse_yuan(form.price.data)
    except ValueError:
        message = _l("Enter the price in yuan, e.g. 12.50.")
        raise Invalid(message, fields={"price": [message]}) from None
    return data


def _price_field(err):
    """The form asks for `price` in yuan; the service checks `price_fen`."""
    if "price_fen" in err.fields:
        err.fields["price"] = err.fields.pop("price_fen")
    return err


def _photo(form):
    file = form.photo.data
    return file.read() if file and getattr(file, "filename", "") else None


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    coop = _coop()
    if coop is None:
        return redirect(url_for("coops.apply"))
    form = ProductForm()
    if form.validate_on_submit():
        try:
            product = services.create_product(current_user, coop, _form_data(form))
            photo = _photo(form)
            if photo:
                services.add_image(current_user, product, photo, alt=product.title)
        except DomainError as err:
            db.session.rollback()
            apply_errors(form, _price_field(err))
        else:
            db.session.commit()
            flash(_("Product saved."), "success")
            return redirect(url_for("manage.edit", product_id=product.id))
    return render_template("manage/product_form.html", form=form, product=None), form_status(form)


@bp.route("/<int:product_id>", methods=["GET", "POST"])
@login_required
def edit(product_id):
    product = services.editable_product(product_id, current_user)
    form = ProductForm(obj=product)
    if not form.is_submitted():
        form.price.data = fen_to_yuan_str(product.price_fen)
        form.status.data = product.status.value
    if form.validate_on_submit():
        try:
            services.update_product(current_user, product, _form_data(form))
            photo = _photo(form)
            if photo:
                services.add_image(current_user, product, photo, alt=product.title)
        except DomainError as err:
            db.session.rollback()
            product = services.editable_product(product_id, current_user)
            apply_errors(form, _price_field(err))
        else:
            db.session.commit()
            flash(_("Product saved."), "success")
            return redirect(url_for("manage.edit", product_id=product.id))
    return render_template("manage/product_form.html", form=form, product=product,
                           image_form=ImageForm()), form_status(form)


@bp.post("/<int:product_id>/images/<int:image_id>/delete")
@login_required
def delete_image(product_id, image_id):
    product = services.editable_product(product_id, current_user)
    if EmptyForm().validate_on_submit():
        services.remove_image(current_user, product, image_id)
        db.session.commit()
        flash(_("Photo removed."), "success")
    return redirect(url_for("manage.edit", product_id=product_id))


@bp.post("/<int:product_id>/archive")
@login_required
def archive(product_id):
    product = services.editable_product(product_id, current_user)
    if EmptyForm().validate_on_submit():
        services.update_product(current_user, product, {"status": "archived"})
        db.session.commit()
        flash(_("“%(title)s” is archived and no longer on sale.", title=product.title), "success")
    return redirect(url_for("coops.dashboard"))


@bp.route("/import", methods=["GET", "POST"])
@login_required
def import_csv():
    coop = _coop()
    if coop is None:
        return redirect(url_for("coops.apply"))
    form = ImportForm()
    report = None
    if form.validate_on_submit() and form.file.data:
        try:
            report = import_products(current_user, coop, form.file.data.read())
        except DomainError as err:
            db.session.rollback()
            flash(str(err.message), "error")
        else:
            db.session.commit()
    return render_template("manage/import.html", form=form, report=report)
