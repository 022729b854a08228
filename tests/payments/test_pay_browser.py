"""The card pay page in Chromium: under the page's real security policy, pay.js mounts
Stripe's Payment Element with this checkout's client secret, confirms with the return
address, and shows Stripe's error (a declined card) to the buyer.

js.stripe.com is not reachable from the tests, so the browser is served a stand-in
Stripe.js from that same address; it records what pay.js asks of it."""
import os

import pytest
from playwright.sync_api import expect

from marketplace.extensions import db
from tests.conftest import PASSWORD
from tests.orders.helpers import place

CHROMIUM = "/usr/bin/chromium"
pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"Chromium not found at {CHROMIUM}")]

FAKE_STRIPE_JS = """
window.__stripe = [];
window.Stripe = function (key) {
  __stripe.push(["Stripe", key]);
  return {
    elements: function (options) {
      __stripe.push(["elements", options.clientSecret]);
      return {create: function (type) {
        __stripe.push(["create", type]);
        return {mount: function (selector) {
          __stripe.push(["mount", selector]);
          document.querySelector(selector).textContent = "Card number";
        }};
      }};
    },
    confirmPayment: function (options) {
      __stripe.push(["confirmPayment", options.confirmParams.return_url, options.elements !== undefined]);
      return Promise.resolve({error: {message: "Your card was declined."}});
    }
  };
};
"""


@pytest.fixture(scope="session")
def browser_type_launch_args():
    return {"executable_path": CHROMIUM, "args": ["--no-sandbox", "--disable-gpu", "--no-first-run",
                                                  "--disable-background-networking", "--disable-quic"]}


@pytest.fixture(scope="session")
def browser_context_args():
    return {"locale": "en-US", "viewport": {"width": 390, "height": 844}}


def test_pay_page_mounts_the_payment_element_and_shows_a_decline(page, api, make, stripe_live):
    product, buyer = make.product(stock=5, price_fen=4200), make.user()
    placed = place(api, buyer, (product, 1)).get_json()
    secret = placed["payment"]["client_secret"]
    db.session.commit()  # the served app needs the database to itself
    violations = []
    page.on("console", lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None)
    page.route("https://js.stripe.com/v3/", lambda route: route.fulfill(
        status=200, content_type="application/javascript", body=FAKE_STRIPE_JS))

    page.goto(stripe_live + "/login")
    page.fill('input[name="email"]', buyer.email)
    page.fill('input[name="password"]', PASSWORD)
    page.press('input[name="password"]', "Enter")
    page.wait_for_url(lambda url: "/login" not in url)
    page.goto(f"{stripe_live}/checkouts/{placed['id']}/pay")

    expect(page.locator("#payment-element")).to_have_text("Card number")
    page.click("#pay-button")
    expect(page.locator("#payment-message")).to_have_text("Your card was declined.")
    expect(page.locator("#pay-button")).to_be_enabled()  # the buyer can try another card
    assert page.evaluate("window.__stripe") == [
        ["Stripe", "pk_test_x"], ["elements", secret], ["create", "payment"], ["mount", "#payment-element"],
        ["confirmPayment", f"{stripe_live}/checkouts/{placed['id']}", True]]
    assert violations == []
