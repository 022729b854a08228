"""Payments against localstripe (a local Stripe stand-in), started once per session.

Here `app` is configured for the Stripe provider pointed at localstripe, so `client`,
`api`, `make` and `login` all work against it. `stripe_live` serves that same app over
HTTP and points localstripe's webhook at it; `stripe_api` is the Stripe client that a
browser's Stripe.js stands for (it confirms payments).
"""
import os
import shutil
import subprocess
import sys
import threading
import time

import pytest
import requests
import stripe
from werkzeug.serving import make_server

from tests.conftest import fresh_context
from tests.payments.stripe_helpers import WEBHOOK_SECRET, free_port, point_webhook


@pytest.fixture(scope="session")
def localstripe(tmp_path_factory):
    """The base URL of a localstripe started for this session (empty store)."""
    exe = os.path.join(os.path.dirname(sys.executable), "localstripe")
    exe = exe if os.path.exists(exe) else shutil.which("localstripe")
    if exe is None:
        pytest.fail("localstripe is not installed (pip install localstripe==1.15.10)")
    port = free_port()
    log = open(tmp_path_factory.mktemp("localstripe") / "localstripe.log", "wb")
    process = subprocess.Popen([exe, "--port", str(port), "--from-scratch"], stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            requests.get(base + "/v1/payment_intents", auth=("sk_test_x", ""), timeout=1)
            break
        except requests.ConnectionError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"localstripe did not start on port {port}")
            time.sleep(0.1)
    yield base
    process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    log.close()


@pytest.fixture
def app(app_factory, localstripe):
    app = app_factory(PAYMENTS_PROVIDER="stripe", STRIPE_SECRET_KEY="sk_test_x", STRIPE_PUBLISHABLE_KEY="pk_test_x",
                      STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET, STRIPE_API_BASE=localstripe)
    with fresh_context(app):
        yield app


@pytest.fixture
def stripe_api(localstripe):
    return stripe.StripeClient("sk_test_x", base_addresses={"api": localstripe})


@pytest.fixture
def stripe_live(app, localstripe):
    """`app` served over HTTP, receiving localstripe's signed webhooks."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}"
    point_webhook(localstripe, url + "/api/v1/payments/stripe/webhook")
    yield url
    point_webhook(localstripe, "http://127.0.0.1:9/closed")  # late events of this test go nowhere
    server.shutdown()
    thread.join(timeout=5)
