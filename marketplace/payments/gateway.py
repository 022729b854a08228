"""Payment providers behind one small interface. This is the only module that
imports the Stripe SDK; it returns plain dataclasses.

`demo`: no money moves; the pay page says TEST MODE; refused in production.
`stripe`: one PaymentIntent per checkout (amount in fen, cny), signed webhooks.
STRIPE_API_BASE points the client elsewhere (localstripe in the tests).
"""
from dataclasses import dataclass

import stripe
from flask import current_app
from flask_babel import lazy_gettext as _l

from ..core.errors import DomainError


class PaymentError(DomainError):
    status = 502
    code = "payment_provider_error"


class InvalidSignature(DomainError):
    status = 400
    code = "invalid_signature"


@dataclass
class Intent:
    id: str
    client_secret: str | None


@dataclass
class GatewayEvent:
    id: str
    type: str
    payment_intent_id: str | None
    amount_fen: int | None
    currency: str | None


class DemoGateway:
    name = "demo"

    def create_intent(self, checkout) -> Intent:
        return Intent(id=f"demo_pi_{checkout.id}", client_secret=None)

    def refund(self, payment_intent_id: str, amount_fen: int, idempotency_key: str) -> str:
        return f"demo_re_{idempotency_key}"


class StripeGateway:
    name = "stripe"

    def __init__(self, secret_key: str, webhook_secret: str | None, api_base: str | None = None):
        addresses = {"api": api_base} if api_base else {}
        self.client = stripe.StripeClient(secret_key, base_addresses=addresses, max_network_retries=2)
        self.webhook_secret = webhook_secret

    def create_intent(self, checkout) -> Intent:
        params = {"amount": checkout.amount_fen, "currency": checkout.currency.lower(),
                  "payment_method_types": ["card"], "metadata": {"checkout_id": str(checkout.id)}}
        try:
            intent = self.client.v1.payment_intents.create(
                params=params, options={"idempotency_key": f"checkout-{checkout.id}"})
        except stripe.StripeError as err:
            raise PaymentError(_l("The payment service is not answering. Please try again."),
                               fields={"provider": [str(err.user_message or err)]}) from err
        return Intent(id=intent.id, client_secret=intent.client_secret)

    def refund(self, payment_intent_id: str, amount_fen: int, idempotency_key: str) -> str:
        try:
            refund = self.client.v1.refunds.create(
                params={"payment_intent": payment_intent_id, "amount": amount_fen},
                options={"idempotency_key": idempotency_key})
        except stripe.StripeError as err:
            raise PaymentError(_l("The refund could not be made at the payment service: %(why)s",
                                  why=err.user_message or "error")) from err
        return refund.id

    def parse_event(self, payload: bytes, signature: str | None) -> GatewayEvent:
        if not signature or not self.webhook_secret:
            raise InvalidSignature(_l("Missing or bad signature."))
        try:
            event = stripe.Webhook.construct_event(payload, signature, self.webhook_secret)
        except (ValueError, stripe.SignatureVerificationError):
            raise InvalidSignature(_l("Missing or bad signature.")) from None
        obj = event["data"]["object"]
        is_intent = obj.get("object") == "payment_intent"
        return GatewayEvent(id=event["id"], type=event["type"], payment_intent_id=obj.get("id") if is_intent else None,
                            amount_fen=obj.get("amount") if is_intent else None,
                            currency=(obj.get("currency") or "").upper() if is_intent else None)


def get_gateway():
    config = current_app.config
    if config["PAYMENTS_PROVIDER"] == "stripe":
        return StripeGateway(config["STRIPE_SECRET_KEY"], config.get("STRIPE_WEBHOOK_SECRET"),
                             config.get("STRIPE_API_BASE"))
    if not config.get("DEMO_PAYMENTS_ALLOWED"):
        raise PaymentError(_l("Payments are not configured."), code="payments_not_configured")
    return DemoGateway()
