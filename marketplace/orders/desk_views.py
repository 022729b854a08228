"""The cooperative's side of buying: the order desk (tabs, filters, CSV export, one
order with ship and refund forms) and the sales dashboard. Owners and managers
of the cooperative only; anyone else signed in gets 403, and an order of another
cooperative is 404 so order numbers reveal nothing."""
import csv
import io

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from ..coops.services import ensure_member
from ..core.errors import DomainError, Forbidden, Invalid, NotFound
from ..core.forms import apply_errors, form_status
from ..core.money import fen_to_yuan_str, parse_yuan
from ..extensions import db
from ..payments import services as payments
from . import fulfilment, sales
from .forms import ShipForm
from .models import Order
from .refunds import REFUNDABLE

bp = Blueprint("desk", __name__)
PER_PAGE = 20
EXPORT_MAX_LINES = 50_000  #: about 10 MB of CSV


class DeskFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search form changes nothing

    date_from = DateField(_l("Placed from"), validators=[Optional()])
    date_to = DateField(_l("Placed until"), validators=[Optional()])
    q = StringField(_l("Order number, product or recipient"), validators=[Optional(), Length(max=100)])

    def validate_date_to(self, field):
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError(_("The end date is before the start date."))


def _reason(html_id):
    # both refund forms sit on one page: distinct ids keep each label on its own box
    return StringField(_l("Reason (the buyer sees it)"), id=html_id, validators=[Optional(), Length(max=200)])


class RefundAmountForm(FlaskForm):
    amount = StringField(_l("Amount to refund (¥)"), validators=[DataRequired(), Length(max=20)])
    reason = _reason("amount_reason")


class RefundLinesForm(FlaskForm):
    reason = _reason("lines_reason")


def refund_lines_form(order, **kwargs):
    """A form with one quantity box per line that still has units to refund."""
    class Form(RefundLinesForm):
        pass

    for line in order.lines:
        left = line.quantity - line.refunded_quantity
        if left > 0:
            setattr(Form, f"qty_{line.id}", IntegerField(
                _("%(title)s (up to %(n)d)", title=line.title, n=left), default=0,
                validators=[Optional(), NumberRange(min=0, max=left)]))
    return Form(**kwargs)


def _my_coop():
    """The signed-in member's cooperative, if they may work the desk."""
    membership = current_user.membership
    if membership is None:
        raise Forbidden(_l("Only a cooperative's owners and managers can open this page."))
    ensure_member(current_user, membership.cooperative, fulfilment.SELLERS)
    return membership.cooperative


def _my_order(order_id) -> Order:
    coop = _my_coop()
    order = db.session.get(Order, order_id)
    if order is None or order.cooperative_id != coop.id:
        raise NotFound(_l("No such order."))
    return order


def _filters():
    """The desk's filter form read from the query string, and the filter to apply:
    fields that failed validation are left out rather than guessed."""
    form = DeskFilterForm(formdata=request.args)
    form.validate()
    tab = request.args.get("tab")
    f = sales.DeskFilter(tab=tab if tab in sales.TABS else "to_ship",
                         date_from=None if form.date_from.errors else form.date_from.data,
                         date_to=None if form.date_to.errors else form.date_to.data,
                         q="" if form.q.errors else (form.q.data or "").strip())
    return form, f


@bp.get("/my/orders")
@login_required
def orders():
    coop = _my_coop()
    form, f = _filters()
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    rows, total = sales.desk_page(coop.id, f, page, PER_PAGE)
    return render_template("desk/orders.html", coop=coop, form=form, f=f, orders=rows, total=total, page=page,
                           per_page=PER_PAGE, counts=sales.tab_counts(coop.id),
                           tabs=_tab_labels()), form_status(form)


def _tab_labels():
    return {"new": _("New"), "to_ship": _("To ship"), "shipped": _("Shipped"), "all": _("All")}


# --- CSV export ---------------------------------------------------------------

#: a cell starting with one of these is a formula to Excel and WPS: prefix a quote
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def _csv_line(cells) -> str:
    out = io.StringIO()
    csv.writer(out).writerow([safe_cell(c) for c in cells])
    return out.getvalue()


def _csv_header():
    return [_("Order number"), _("Placed at (Beijing time)"), _("Status"), _("Recipient"), _("Phone"),
            _("Province"), _("City"), _("Address"), _("Product"), _("Quantity"), _("Unit price (¥)"),
            _("Line total (¥)"), _("Carrier"), _("Tracking number")]


def _csv_cells(row):
    address = row.shipping_address or {}
    placed = row.created_at.astimezone(sales.LOCAL_TZ).strftime("%Y-%m-%d %H:%M")
    return [row.id, placed, _(row.status.value), *(address.get(k, "") for k in
                                                     ("name", "phone", "province", "city", "address")),
            row.title, row.quantity, fen_to_yuan_str(row.unit_price_fen), fen_to_yuan_str(row.line_total_fen),
            row.carrier, row.tracking_no]


@bp.get("/my/orders/export.csv")
@login_required
def export():
    coop = _my_coop()
    form, f = _filters()
    rows = sales.export_rows(coop.id, f, limit=EXPORT_MAX_LINES + 1)
    if form.errors or len(rows) > EXPORT_MAX_LINES:
        if not form.errors:
            flash(_("More than %(n)d lines: choose a shorter date range.", n=EXPORT_MAX_LINES), "error")
        return redirect(url_for("desk.orders", **request.args))
    # built in memory (bounded above), not streamed: a stream would outlive the
    # request's database session. The BOM makes Excel read the file as UTF-8.
    body = "\ufeff" + _csv_line(_csv_header()) + "".join(_csv_line(_csv_cells(row)) for row in rows)
    name = f"orders-{sales.local_today():%Y%m%d}.csv"
    return Response(body, mimetype="text/csv",  # Werkzeug adds charset=utf-8
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


# --- one order ----------------------------------------------------------------

def _order_page(order, ship=None, by_lines=None, by_amount=None, status=200):
    """The seller's order page; forms not being posted are shown empty."""
    return render_template(
        "desk/order.html", order=order, address=order.checkout.shipping_address or {},
        ship_form=ship or ShipForm(formdata=None), lines_form=by_lines or refund_lines_form(order, formdata=None),
        amount_form=by_amount or RefundAmountForm(formdata=None),
        can_ship=order.shipped_at is None and order.status in sales.TO_SHIP,
        can_refund=order.status in REFUNDABLE and order.refunded_fen < order.subtotal_fen), status


@bp.get("/my/orders/<int:order_id>")
@login_required
def order(order_id):
    return _order_page(_my_order(order_id))


@bp.post("/my/orders/<int:order_id>/ship")
@login_required
def ship(order_id):
    order = _my_order(order_id)
    form = ShipForm()
    if form.validate_on_submit():
        try:
            fulfilment.ship(current_user, order, {"carrier": form.carrier.data, "tracking_no": form.tracking_no.data})
        except DomainError as err:
            db.session.rollback()
            apply_errors(form, err)
        else:
            db.session.commit()
            flash(_("Shipped. The buyer has been told the tracking number."), "success")
            return redirect(url_for("desk.order", order_id=order.id))
    return _order_page(order, ship=form, status=form_status(form))


@bp.post("/my/orders/<int:order_id>/refund/<any(lines, amount):by>")
@login_required
def refund(order_id, by):
    order = _my_order(order_id)
    form = refund_lines_form(order) if by == "lines" else RefundAmountForm()
    if form.validate_on_submit():
        wanted = _wanted_refund(form, by)
        if wanted is not None:
            try:
                payments.refund_order(current_user, order, reason=form.reason.data or "", **wanted)
            except DomainError as err:
                db.session.rollback()
                _show_refund_error(form, err, by)
            else:
                db.session.commit()
                flash(_("Refunded. The money goes back to the buyer's account."), "success")
                return redirect(url_for("desk.order", order_id=order.id))
    forms = {"by_lines": form} if by == "lines" else {"by_amount": form}
    return _order_page(order, status=form_status(form), **forms)


def _wanted_refund(form, by) -> dict | None:
    """The service's arguments from a valid form, or None after noting what is wrong."""
    if by == "amount":
        try:
            return {"amount_fen": parse_yuan(form.amount.data)}
        except ValueError:
            form.amount.errors.append(_("Enter an amount in yuan, like 12.50."))
            return None
    lines = [{"order_line_id": int(name[4:]), "quantity": field.data}
             for name, field in form._fields.items() if name.startswith("qty_") and field.data]
    if not lines:
        form.form_errors.append(_("Enter how many of at least one product to refund."))
        return None
    return {"lines": lines}


def _show_refund_error(form, err, by):
    if by == "amount" and isinstance(err, Invalid) and not err.fields:
        err.fields = {"amount": [err.message]}  # e.g. more than is left: say so beside the box
    apply_errors(form, err)


# --- the sales dashboard ------------------------------------------------------

@bp.get("/my/sales")
@login_required
def dashboard():
    coop = _my_coop()
    days = request.args.get("days", 30, type=int)
    report = sales.sales_report(coop.id, days if days in sales.PERIODS else 30)
    return render_template("desk/sales.html", coop=coop, report=report, periods=sales.PERIODS)
