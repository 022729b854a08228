"""POST /api/v1/payments/stripe/webhook: signed provider events."""
from flask import request
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from ..extensions import db
from ..payments import services as payments
from ..payments.gateway import StripeGateway, get_gateway

blp = Blueprint("payments_api", __name__, description="Payment provider webhooks")


class WebhookAck(Schema):
    received = fields.Boolean(required=True)
    outcome = fields.String()


@blp.route("/payments/stripe/webhook", methods=["POST"])
@blp.response(200, WebhookAck)
@blp.doc(description="Raw JSON body signed by Stripe (Stripe-Signature header). A bad or missing "
                     "signature is 400 and changes nothing; each event id is applied once.")
def stripe_webhook():
    gateway = get_gateway()
    if not isinstance(gateway, StripeGateway):
        from ..core.errors import NotFound
        raise NotFound("Stripe is not configured here.")
    event = gateway.parse_event(request.get_data(), request.headers.get("Stripe-Signature"))
    outcome = payments.handle_event("stripe", event)
    db.session.commit()
    return {"received": True, "outcome": outcome}
