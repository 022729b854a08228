"""Payment providers behind one small interface. This is the only module that
imports the Stripe SDK; it returns plain dataclasses.

`demo`: no money moves; the pay page says TEST MODE; refused in production.
`stripe`: one PaymentIntent per checkout (amount in fen, cny), signed webhooks.
STRIPE_API_BASE points the client elsewhere (localstripe in the tests).
"""
import json
import secrets
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
    #: the checkout named in the intent's metadata (Stripe), for an event that comes
    #: before the intent's id is stored with its checkout
    checkout_id: int | None = None


# A gateway's create_intent(checkout) reads only the checkout's id, amount_fen, currency,
# created_at and payment_intent_id: an ORM Checkout or a plain snapshot of one.

class DemoGateway:
    name = "demo"
    #: no network call: the payment is named inside the checkout's own transaction
    local = True

    def id_before_placing(self) -> str:
        """The demo payment's id, chosen before the checkout is written (one INSERT, no UPDATE)."""
        return f"demo_pi_{secrets.token_urlsafe(12)}"

    def create_intent(self, checkout) -> Intent:
        return Intent(id=checkout.payment_intent_id or self.id_before_placing(), client_secret=None)

    def client_secret(self, payment_intent_id: str) -> str | None:
        return None

    def refund(self, payment_intent_id: str, amount_fen: int, idempotency_key: str) -> str:
        return f"demo_re_{idempotency_key}"


class StripeGateway:
    name = "stripe"
    #: a network call: made after the reservation is committed, never inside its transaction
    local = False

    def __init__(self, secret_key: str, webhook_secret: str | None, api_base: str | None = None):
        addresses = {"api": api_base} if api_base else {}
        self.client = stripe.StripeClient(secret_key, base_addresses=addresses, max_network_retries=2)
        self.webhook_secret = webhook_secret

    def id_before_placing(self) -> None:
        return None  # Stripe names the intent when it is created

    def create_intent(self, checkout) -> Intent:
        """One PaymentIntent per checkout: asking again returns the one it has. The
        idempotency key names this checkout row (id and creation time), so a key
        is never reused for another checkout that got the same id after a rollback."""
        if checkout.payment_intent_id:
            return self._retrieve(checkout.payment_intent_id)
        params = {"amount": checkout.amount_fen, "currency": checkout.currency.lower(),
                  "payment_method_types": ["card"], "metadata": {"checkout_id": str(checkout.id)}}
        key = f"checkout-{checkout.id}-{int(checkout.created_at.timestamp() * 1_000_000)}"
        try:
            intent = self.client.v1.payment_intents.create(params=params, options={"idempotency_key": key})
        except stripe.StripeError as err:
            raise _unavailable(err) from err
        return Intent(id=intent.id, client_secret=intent.client_secret)

    def client_secret(self, payment_intent_id: str) -> str | None:
        """What the pay page hands to Stripe.js to confirm the payment."""
        return self._retrieve(payment_intent_id).client_secret

    def _retrieve(self, payment_intent_id: str) -> Intent:
        try:
            intent = self.client.v1.payment_intents.retrieve(payment_intent_id)
        except stripe.StripeError as err:
            raise _unavailable(err) from err
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
            stripe.Webhook.construct_event(payload, signature, self.webhook_secret)  # verifies, or raises
            event = json.loads(payload)  # plain dicts: stripe's objects have no .get()
            obj = event["data"]["object"]
            event_id, event_type = str(event["id"]), str(event["type"])
        except (ValueError, TypeError, KeyError, stripe.SignatureVerificationError):
            raise InvalidSignature(_l("Missing or bad signature.")) from None
        is_intent = isinstance(obj, dict) and obj.get("object") == "payment_intent"
        amount = obj.get("amount") if is_intent else None
        intent_id = obj.get("id") if is_intent else None
        return GatewayEvent(id=event_id, type=event_type, payment_intent_id=str(intent_id) if intent_id else None,
                            amount_fen=amount if isinstance(amount, int) and not isinstance(amount, bool) else None,
                            currency=str(obj.get("currency") or "").upper() if is_intent else None,
                            checkout_id=_metadata_checkout_id(obj) if is_intent else None)


def _metadata_checkout_id(intent: dict) -> int | None:
    metadata = intent.get("metadata")
    raw = metadata.get("checkout_id") if isinstance(metadata, dict) else None
    return int(raw) if isinstance(raw, str) and raw.isascii() and raw.isdigit() and len(raw) < 19 else None


def _unavailable(err) -> PaymentError:
    return PaymentError(_l("The payment service is not answering. Please try again."),
                        fields={"provider": [str(err.user_message or err)]})


def get_gateway():
    config = current_app.config
    if config["PAYMENTS_PROVIDER"] == "stripe":
        return StripeGateway(config["STRIPE_SECRET_KEY"], config.get("STRIPE_WEBHOOK_SECRET"),
                             config.get("STRIPE_API_BASE"))
    if not config.get("DEMO_PAYMENTS_ALLOWED"):
        raise PaymentError(_l("Payments are not configured."), code="payments_not_configured")
    return DemoGateway()
