"""Checkouts (pay once for a cart from several cooperatives) and orders."""
from flask import current_app, g, jsonify
from flask_smorest import Blueprint
from sqlalchemy import func, or_, select

from ..coops.services import staff_covers
from ..core.errors import NotFound
from ..extensions import db, limiter
from ..auth.models import ApiToken
from ..orders import fulfilment, placing, placing_token
from ..orders.models import Checkout, CheckoutStatus, Order, OrderStatus
from ..orders.placing import WantedLine
from ..payments import services as payments
from .common import BEARER, bearer_token, list_envelope, require_user, rows_read_along
from .order_schemas import (CheckoutIn, CheckoutSchema, OrderListQuery, OrderSchema, RefundIn, RefundSchema,
                            ShipIn)

blp = Blueprint("checkouts_api", __name__, description="Checkouts and orders")


def order_dict(order) -> dict:
    return {"id": order.id, "checkout_id": order.checkout_id, "cooperative_id": order.cooperative_id,
            "cooperative_name": order.cooperative.name, "status": order.status.value,
            "subtotal_fen": order.subtotal_fen, "refunded_fen": order.refunded_fen,
            "currency": order.checkout.currency, "carrier": order.carrier, "tracking_no": order.tracking_no,
            "created_at": order.created_at, "paid_at": order.paid_at, "shipped_at": order.shipped_at,
            "delivered_at": order.delivered_at,
            "lines": [{k: getattr(line, k) for k in ("id", "product_id", "livestream_id", "title", "unit",
                                                     "unit_price_fen", "quantity", "line_total_fen",
                                                     "refunded_quantity", "refunded_fen")} for line in order.lines],
            "events": [{"status": e.status.value, "note": e.note, "created_at": e.created_at} for e in order.events]}


def checkout_dict(checkout, payment=None) -> dict:
    return {"id": checkout.id, "status": checkout.status.value, "amount_fen": checkout.amount_fen,
            "currency": checkout.currency, "expires_at": checkout.expires_at,
            "orders": [order_dict(o) for o in checkout.orders],
            "payment": payment or payments.payment_info(checkout)}


def placed_dict(placed, payment) -> dict:
    """CheckoutSchema's dump of a checkout this request has just written
    (orders.placing.Placed), built without reading it back and without the schema:
    pending, nothing paid, shipped or refunded, no events yet, times in ISO 8601 as the
    schema writes them. The flash-sale crowd's answer; a test holds it equal to the
    schema's dump of the checkout read back (GET /checkouts/<id>)."""
    created_at = placed.created_at.isoformat()
    orders = [{"id": o.id, "checkout_id": placed.id, "cooperative_id": o.cooperative_id,
               "cooperative_name": o.cooperative_name, "status": OrderStatus.pending_payment.value,
               "subtotal_fen": o.subtotal_fen, "refunded_fen": 0, "currency": placed.currency, "carrier": None,
               "tracking_no": None, "created_at": created_at, "paid_at": None, "shipped_at": None,
               "delivered_at": None,
               "lines": [{**vars(line), "refunded_quantity": 0, "refunded_fen": 0} for line in o.lines],
               "events": []} for o in placed.orders]
    return {"id": placed.id, "status": CheckoutStatus.pending_payment.value, "amount_fen": placed.amount_fen,
            "currency": placed.currency, "expires_at": placed.expires_at.isoformat(), "orders": orders,
            "payment": payment}


def _own_checkout(checkout_id, user) -> Checkout:
    checkout = db.session.get(Checkout, checkout_id)
    if checkout is None or not (checkout.buyer_id == user.id
                                or staff_covers(user, *(o.cooperative.county for o in checkout.orders))):
        raise NotFound("No such checkout.")
    return checkout


@blp.route("/checkouts", methods=["POST"])
@limiter.limit(lambda: current_app.config["CHECKOUT_RATE_LIMIT"])
@blp.arguments(CheckoutIn())  # an instance: webargs would build one from a class on every request
@blp.response(201, CheckoutSchema)
@blp.doc(security=BEARER)
def create_checkout(body):
    wanted = [WantedLine(product_id=i["product_id"], quantity=i["quantity"], livestream_id=i.get("livestream_id"))
              for i in body["items"]]
    raw_token = bearer_token()
    if raw_token and placing_token.applies(wanted):  # one statement: the token, the product, the rows
        placed, payment = payments.place_with_token_and_start_payment(ApiToken.hash(raw_token), wanted,
                                                                      body["shipping_address"])
        g.api_user_id = placed.buyer_id  # (for the request log: no user was loaded)
    else:  # the buyer's token and the products in one round trip, then the rows
        user = require_user(*placing.products_with_token(wanted))
        rows = rows_read_along()
        placed, payment = payments.place_and_start_payment(user, wanted, body["shipping_address"],
                                                           None if rows is None else placing.read_products(rows))
    # The body comes from what this request wrote (the commit writes exactly that):
    # reading it back would cost four SELECTs per checkout under a flash-sale crowd,
    # and it is already what the schema would dump (a Response passes flask-smorest by).
    db.session.commit()
    return jsonify(placed_dict(placed, payment)), 201


@blp.route("/checkouts/<int:checkout_id>", methods=["GET"])
@blp.response(200, CheckoutSchema)
@blp.doc(security=BEARER)
def get_checkout(checkout_id):
    user = require_user()
    checkout = _own_checkout(checkout_id, user)
    unpaid = checkout.status == CheckoutStatus.pending_payment and checkout.buyer_id == user.id
    secret = payments.client_secret(checkout) if unpaid else None  # (the buyer may pay from another device)
    return checkout_dict(checkout, payments.payment_info(checkout, secret))


@blp.route("/checkouts/<int:checkout_id>/demo-confirm", methods=["POST"])
@blp.response(200, CheckoutSchema)
@blp.doc(security=BEARER, description="Demo mode only: pays the checkout without money.")
def demo_confirm(checkout_id):
    user = require_user()
    checkout = _own_checkout(checkout_id, user)
    payments.confirm_demo(user, checkout)
    db.session.commit()
    return checkout_dict(checkout)


@blp.route("/orders", methods=["GET"])
@blp.arguments(OrderListQuery, location="query")
@blp.response(200, list_envelope(OrderSchema))
@blp.doc(security=BEARER)
def list_orders(args):
    user = require_user()
    mine = or_(Order.buyer_id == user.id,
               Order.cooperative_id == (user.membership.cooperative_id if user.membership else -1))
    stmt = select(Order).where(mine).order_by(Order.id.desc())
    if args.get("status"):
        stmt = stmt.where(Order.status == OrderStatus(args["status"]))
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    page, per_page = args["page"], args["per_page"]
    orders = db.session.scalars(stmt.limit(per_page).offset((page - 1) * per_page)).all()
    return {"items": [order_dict(o) for o in orders], "page": page, "per_page": per_page, "total": total}


@blp.route("/orders/<int:order_id>", methods=["GET"])
@blp.response(200, OrderSchema)
@blp.doc(security=BEARER)
def get_order(order_id):
    return order_dict(fulfilment.visible_order(order_id, require_user()))


@blp.route("/orders/<int:order_id>/cancel", methods=["POST"])
@blp.response(200, OrderSchema)
@blp.doc(security=BEARER)
def cancel_order(order_id):
    user = require_user()
    order = fulfilment.visible_order(order_id, user)
    payments.cancel_by_buyer(user, order)
    db.session.commit()
    return order_dict(order)


@blp.route("/orders/<int:order_id>/ship", methods=["POST"])
@blp.arguments(ShipIn)
@blp.response(200, OrderSchema)
@blp.doc(security=BEARER)
def ship_order(body, order_id):
    user = require_user()
    order = fulfilment.seller_order(order_id, user)
    fulfilment.ship(user, order, body)
    db.session.commit()
    return order_dict(order)


@blp.route("/orders/<int:order_id>/deliver", methods=["POST"])
@blp.response(200, OrderSchema)
@blp.doc(security=BEARER)
def deliver_order(order_id):
    user = require_user()
    order = fulfilment.visible_order(order_id, user)
    fulfilment.deliver(user, order)
    db.session.commit()
    return order_dict(order)


@blp.route("/orders/<int:order_id>/refunds", methods=["POST"])
@blp.arguments(RefundIn)
@blp.response(201, RefundSchema)
@blp.doc(security=BEARER)
def refund_order(body, order_id):
    user = require_user()
    order = fulfilment.seller_order(order_id, user)
    refund = payments.refund_order(user, order, lines=body.get("lines"), amount_fen=body.get("amount_fen"),
                                   reason=body.get("reason", ""))
    db.session.commit()
    return {"id": refund.id, "amount_fen": refund.amount_fen, "lines": refund.lines, "order": order_dict(order)}
