"""The real app as the flash-sale benchmark serves it: `gunicorn bench.flash_app:app`.

Production config (MARKETPLACE_CONFIG=production, SECRET_KEY, DATABASE_URL from the
environment) with two changes, both for the benchmark only:

- DEMO_PAYMENTS_ALLOWED: production refuses the demo provider (no Stripe key, no
  checkout). The demo provider makes no network call, so the figures are the app's own
  and not a payment service's round trip.
- ProxyFix for one proxy hop: in production every buyer comes from an address of their
  own, seen through the reverse proxy's X-Forwarded-For. The load generator sends one
  address per buyer, so the per-address checkout rate limit (CHECKOUT_RATE_LIMIT) works
  per buyer as it would in production, instead of counting all 1,000 buyers as one
  client on 127.0.0.1.
"""
from werkzeug.middleware.proxy_fix import ProxyFix

from marketplace import create_served_app

app = create_served_app("production", DEMO_PAYMENTS_ALLOWED=True)
# (harmless if the app already installs one for PROXY_FIX: both read the same header)
app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1)
