"""Buyer pages: cart, checkout, pay, confirmation, my orders."""
from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from ..core.errors import DomainError, NotFound
from ..core.forms import EmptyForm
from ..extensions import db
from ..payments import services as payments
from . import fulfilment
from .cart import SESSION_KEY, Cart, merge_into_account
from .checkout import place_checkout
from .forms import AddressForm, AddToCartForm
from .models import Address, Checkout, CheckoutStatus, Order

bp = Blueprint("orders", __name__)


def _cart():
    return Cart(current_user, session)


@bp.before_app_request
def _merge_visitor_cart():
    """After login (which keeps the visitor's cart in the session), move the cart
    into the account, adding quantities to what the account already holds."""
    if SESSION_KEY in session and current_user.is_authenticated:
        merge_into_account(current_user, session.pop(SESSION_KEY))
        db.session.commit()


@bp.get("/cart")
def cart():
    rows = _cart().rows()
    return render_template("orders/cart.html", rows=rows, total=sum(r.total_fen for r in rows), form=EmptyForm())


@bp.post("/cart/add")
def add_to_cart():
    form = AddToCartForm()
    if not form.validate_on_submit():
        flash(_("Choose a quantity from 1 to 999."), "error")
        return redirect(request.referrer or url_for("orders.cart"))
    try:
        product = _cart().add(form.product_id.data, form.quantity.data)
    except DomainError as err:
        db.session.rollback()
        flash(str(err.message), "error")
        return redirect(url_for("orders.cart"))
    db.session.commit()
    flash(_("“%(title)s” is in your cart.", title=product.title), "success")
    return redirect(url_for("orders.cart"))


@bp.post("/cart/<int:product_id>")
def update_cart(product_id):
    if EmptyForm().validate_on_submit():
        try:
            if request.form.get("action") == "remove":
                _cart().remove(product_id)
            else:
                _cart().set_quantity(product_id, request.form.get("quantity"))
        except DomainError as err:
            db.session.rollback()
            flash(str(err.message), "error")
        else:
            db.session.commit()
    return redirect(url_for("orders.cart"))


def _addresses():
    return db.session.scalars(select(Address).where(Address.user_id == current_user.id)
                              .order_by(Address.id.desc())).all()


def _chosen_address(form, saved):
    by_id = {str(a.id): a for a in saved}
    if form.saved_address.data in by_id:
        return by_id[form.saved_address.data].as_dict(), False
    return {k: getattr(form, k).data or "" for k in ("name", "phone", "province", "city", "address")}, True


@bp.route("/checkout", methods=["GET", "POST"])
@login_required
def checkout():
    cart, saved = _cart(), _addresses()
    rows = cart.rows()
    if not rows:
        return redirect(url_for("orders.cart"))
    form = AddressForm()
    form.saved_address.choices = [(str(a.id), a.address) for a in saved] + [("new", _("A new address"))]
    status = 200
    if form.validate_on_submit():
        address, is_new = _chosen_address(form, saved)
        try:
            placed = place_checkout(current_user, cart.wanted(), address, current_app.config["PAYMENTS_PROVIDER"])
            payments.start_payment(placed)
        except DomainError as err:
            db.session.rollback()
            status = err.status if err.status < 500 else 503
            flash(str(err.message), "error")
            for name, messages in err.fields.items():
                if hasattr(form, name):
                    getattr(form, name).errors = [str(m) for m in messages]
        else:
            if is_new:
                db.session.add(Address(user_id=current_user.id, **address))
            cart.clear()
            db.session.commit()
            return redirect(url_for("orders.pay", checkout_id=placed.id))
    return render_template("orders/checkout.html", form=form, rows=rows, saved=saved,
                           total=sum(r.total_fen for r in rows)), status


def _my_checkout(checkout_id) -> Checkout:
    checkout = db.session.get(Checkout, checkout_id)
    if checkout is None or checkout.buyer_id != current_user.id:
        raise NotFound(_("No such checkout."))
    return checkout


@bp.get("/checkouts/<int:checkout_id>/pay")
@login_required
def pay(checkout_id):
    checkout = _my_checkout(checkout_id)
    if checkout.status != CheckoutStatus.pending_payment:
        return redirect(url_for("orders.done", checkout_id=checkout.id))
    secret = payments.client_secret(checkout)
    g.csp_stripe = secret is not None  # the security headers then let Stripe.js in, on this page only
    return render_template("orders/pay.html", checkout=checkout, form=EmptyForm(), client_secret=secret,
                           publishable_key=current_app.config.get("STRIPE_PUBLISHABLE_KEY") or "")


@bp.post("/checkouts/<int:checkout_id>/demo-pay")
@login_required
def demo_pay(checkout_id):
    checkout = _my_checkout(checkout_id)
    if EmptyForm().validate_on_submit():
        try:
            payments.confirm_demo(current_user, checkout)
        except DomainError as err:
            db.session.rollback()
            flash(str(err.message), "error")
        else:
            db.session.commit()
    return redirect(url_for("orders.done", checkout_id=checkout.id))


@bp.post("/checkouts/<int:checkout_id>/cancel")
@login_required
def cancel_checkout(checkout_id):
    from .checkout import cancel_checkout as cancel

    checkout = _my_checkout(checkout_id)
    if EmptyForm().validate_on_submit() and cancel(checkout, "cancelled_by_buyer", current_user):
        db.session.commit()
        flash(_("Cancelled. The goods are back on the shelf."), "success")
    return redirect(url_for("orders.my_orders"))


@bp.get("/checkouts/<int:checkout_id>")
@login_required
def done(checkout_id):
    return render_template("orders/done.html", checkout=_my_checkout(checkout_id))


@bp.get("/orders")
@login_required
def my_orders():
    orders = db.session.scalars(select(Order).where(Order.buyer_id == current_user.id)
                                .order_by(Order.id.desc()).limit(100)).all()
    return render_template("orders/my_orders.html", orders=orders)


@bp.get("/orders/<int:order_id>")
@login_required
def detail(order_id):
    from ..households.impact import returned_by_order  # what this order returned to households

    order = fulfilment.visible_order(order_id, current_user)
    return render_template("orders/detail.html", order=order, form=EmptyForm(),
                           returned_to_households=returned_by_order(order))


@bp.post("/orders/<int:order_id>/<any(deliver, cancel):action>")
@login_required
def buyer_action(order_id, action):
    order = fulfilment.visible_order(order_id, current_user)
    if EmptyForm().validate_on_submit():
        try:
            if action == "deliver":
                fulfilment.deliver(current_user, order)
            else:
                payments.cancel_by_buyer(current_user, order)
        except DomainError as err:
            db.session.rollback()
            flash(str(err.message), "error")
        else:
            db.session.commit()
            flash(_("Done."), "success")
    return redirect(url_for("orders.detail", order_id=order.id))
