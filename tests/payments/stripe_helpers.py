"""Talking to localstripe and signing webhooks the way Stripe does."""
import hashlib
import hmac
import json
import socket
import time
import uuid

import requests

WEBHOOK_SECRET = "whsec_test"
WEBHOOK_ID = "marketplace-tests"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def point_webhook(localstripe, url):
    response = requests.post(f"{localstripe}/_config/webhooks/{WEBHOOK_ID}", timeout=5,
                             data={"url": url, "secret": WEBHOOK_SECRET})
    assert response.status_code == 200, response.text


def confirm_card(stripe_api, payment_intent_id, card="pm_card_visa"):
    """What Stripe.js does on the pay page: attach the card and confirm."""
    stripe_api.v1.payment_intents.update(payment_intent_id, params={"payment_method": card})
    return stripe_api.v1.payment_intents.confirm(payment_intent_id)


def stripe_event(event_type, payment_intent_id, amount_fen, currency="cny", event_id=None) -> dict:
    return {"id": event_id or f"evt_{uuid.uuid4().hex[:24]}", "object": "event", "type": event_type,
            "created": int(time.time()), "api_version": "2024-06-20",
            "data": {"object": {"id": payment_intent_id, "object": "payment_intent", "amount": amount_fen,
                                "currency": currency, "status": "succeeded"}}}


def signed(event: dict, secret=WEBHOOK_SECRET, timestamp=None):
    """(body, headers) as Stripe sends them: Stripe-Signature t=..,v1=HMAC-SHA256(t.body)."""
    body = json.dumps(event).encode()
    timestamp = timestamp or int(time.time())
    mac = hmac.new(secret.encode(), b"%d." % timestamp + body, hashlib.sha256).hexdigest()
    return body, {"Stripe-Signature": f"t={timestamp},v1={mac}", "Content-Type": "application/json"}


def poll(fetch, until, seconds=15):
    """Call fetch() until until(result) holds or the deadline passes; returns the last result."""
    deadline = time.monotonic() + seconds
    while True:
        result = fetch()
        if until(result) or time.monotonic() > deadline:
            return result
        time.sleep(0.2)


def api_as(client, user):
    """The JSON API as `user`, with one token issued now: later calls write nothing in
    the test's own session (on SQLite that could collide with a webhook being applied)."""
    from marketplace.auth.services import issue_api_token
    from marketplace.extensions import db

    raw, _ = issue_api_token(user)
    db.session.commit()
    headers = {"Authorization": f"Bearer {raw}"}

    def call(method, path, json=None):
        return getattr(client, method)("/api/v1" + path, json=json, headers=headers)
    return call
