"""The application's Prometheus metrics, and the hooks that feed them.

Under gunicorn every worker writes its samples to files in PROMETHEUS_MULTIPROC_DIR
(gunicorn.conf.py makes and cleans it), and /metrics sums them over all workers;
without it (development, tests) they live in this process. The environment variable
must be set before prometheus_client is imported, which gunicorn.conf.py guarantees.

Business counters count what was committed: a checkout or payment whose transaction
rolls back is not counted. They watch the session and the orders' signals, so the
services need not know about metrics.
"""
from flask import request
from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy import event

from ..core.page_cache import served_from_cache
from ..extensions import db
from ..orders.events import checkout_placed, order_paid
from ..orders.models import Checkout
from ..payments.models import PaymentEvent
from .request_log import elapsed_seconds

REQUEST_SECONDS = Histogram(
    "marketplace_http_request_duration_seconds",
    "Time to answer a request (for event streams: until the stream starts), by endpoint and status",
    ["method", "endpoint", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))
CHECKOUTS_PLACED = Counter("marketplace_checkouts_placed_total", "Checkouts placed (stock reserved, awaiting payment)")
PAYMENTS = Counter("marketplace_payments_total",
                   "Payment provider reports, by result: succeeded (first success of a checkout), "
                   "failed (declined), refunded (arrived too late or for the wrong amount, sent back)",
                   ["result"])
ORDERS_PAID = Counter("marketplace_orders_paid_total", "Orders paid (one checkout pays one order per cooperative)")
PAID_FEN = Counter("marketplace_orders_paid_fen_total", "Value of the orders paid, in fen")
PAGE_CACHE_HITS = Counter("marketplace_page_cache_hits_total",
                          "Anonymous pages answered from the page cache, before Flask (not in the histogram)")
SSE_CONNECTIONS = Gauge("marketplace_sse_connections", "Live-room event streams open now",
                        multiprocess_mode="livesum")

PENDING = "metrics_pending"  #: session.info key: what this transaction will count when it commits
#: other methods share one label value, so a scanner cannot make series without end
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def init_app(app):
    app.after_request(_observe_request)


def _observe_request(response):
    seconds = elapsed_seconds()
    if seconds is not None:
        endpoint = request.url_rule.endpoint if request.url_rule else "unmatched"
        method = request.method if request.method in METHODS else "OTHER"
        REQUEST_SECONDS.labels(method, endpoint, str(response.status_code)).observe(seconds)
    if response.mimetype == "text/event-stream" and response.status_code == 200:
        SSE_CONNECTIONS.inc()
        # the server closes the body when the viewer has left (noticed at the next write:
        # an event, or the keepalive every 15 s)
        response.call_on_close(SSE_CONNECTIONS.dec)
    return response


@served_from_cache.connect
def _count_cache_hit(_app, **_):
    PAGE_CACHE_HITS.inc()  # a hit is kept cheap: counted, not timed or logged


def payment_result(event_type: str, outcome: str) -> str | None:
    """How one recorded provider event counts (None: a repeat, or nothing to count)."""
    if event_type == "payment_intent.payment_failed":
        return "failed"
    if outcome == "paid":
        return "succeeded"
    if outcome in ("refunded_late", "amount_mismatch"):
        return "refunded"
    return None


def _pending(session) -> dict:
    return session.info.setdefault(PENDING, {})


@event.listens_for(db.session, "after_flush")
def _note_flushed(session, _context):
    pending = _pending(session)  # keyed by row, so a row flushed twice counts once
    for obj in session.new:
        if isinstance(obj, Checkout):
            pending[("checkout", obj.id)] = ("checkout",)
        elif isinstance(obj, PaymentEvent):
            pending[("payment", obj.id)] = ("payment", obj.type, obj.outcome)
    for obj in session.dirty:  # the event's outcome is decided after its row is written
        if isinstance(obj, PaymentEvent) and ("payment", obj.id) in pending:
            pending[("payment", obj.id)] = ("payment", obj.type, obj.outcome)


@checkout_placed.connect
def _note_placed(checkout_id, **_):  # (the checkout's rows are written without the unit of work)
    _pending(db.session())[("checkout", checkout_id)] = ("checkout",)


@order_paid.connect
def _note_paid(order, **_):
    _pending(db.session())[("paid", order.id)] = ("paid", order.subtotal_fen)


@event.listens_for(db.session, "after_commit")
def _count_committed(session):
    if session.in_nested_transaction():
        return  # a savepoint was released; the transaction may still roll back
    for kind, *values in session.info.pop(PENDING, {}).values():
        if kind == "checkout":
            CHECKOUTS_PLACED.inc()
        elif kind == "paid":
            ORDERS_PAID.inc()
            PAID_FEN.inc(values[0])
        elif (result := payment_result(*values)) is not None:
            PAYMENTS.labels(result).inc()


@event.listens_for(db.session, "after_rollback")
def _forget(session):
    if not session.in_nested_transaction():  # (a failed savepoint flushed nothing we noted)
        session.info.pop(PENDING, None)
