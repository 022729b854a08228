"""What a checkout sends to the database: on PostgreSQL the rows, the per-buyer count
and the guarded stock UPDATE of a one-line checkout go in one statement
(orders/placing_pg.py); everywhere the rows and the caches' invalidation are the same."""
from types import SimpleNamespace

from sqlalchemy import event, select

from marketplace.auth.services import issue_api_token
from marketplace.core import page_cache
from marketplace.core.audit import AuditRecord
from marketplace.extensions import db
from marketplace.orders.models import BuyerProductCount
from tests.orders.helpers import ADDRESS, items, place, stock


def _statements_of(app, call):
    with app.app_context():
        engine = db.engine
    seen = []

    def record(conn, cursor, statement, *args):
        seen.append(" ".join(statement.split())[:60])

    event.listen(engine, "before_cursor_execute", record)
    try:
        response = call()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return response, seen


def test_a_one_line_checkout_is_one_statement_on_postgresql(app, client, api, make):
    buyer, product = make.user(), make.product(stock=5, per_buyer_limit=2)
    raw, _ = issue_api_token(buyer)
    db.session.commit()
    body = {"items": items((product, 2)), "shipping_address": ADDRESS}
    response, seen = _statements_of(app, lambda: client.post(
        "/api/v1/checkouts", json=body, headers={"Authorization": f"Bearer {raw}"}))
    assert response.status_code == 201, response.get_json()
    if db.engine.dialect.name == "postgresql":  # the token, the product, the rows, the count and the stock
        assert len(seen) == 1 and seen[0].startswith("WITH buyer AS"), seen
    else:
        writes = [s for s in seen if not s.startswith(("SELECT", "BEGIN"))]
        assert len(writes) == 6, seen  # count, checkout, orders, lines, audit record, stock
    assert stock(product) == 3
    refused = place(api, buyer, (product, 1))  # the limit of 2 is reached: refused by the same statement
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "per_buyer_limit"
    assert stock(product) == 3


def test_a_one_line_checkout_that_loses_the_race_for_the_last_units_writes_nothing(app, api, make, monkeypatch):
    """The stock read says there is enough, the guarded UPDATE finds less: 409, no checkout."""
    from marketplace.orders import placing

    buyer, product = make.user(), make.product(stock=0)
    load = placing._load_products

    def stale(lines, rows=None):  # the rows as read before another buyer took the last unit
        return {pid: SimpleNamespace(**{**row._asdict(), "stock": 1}) for pid, row in load(lines, rows).items()}

    monkeypatch.setattr(placing, "_load_products", stale)
    audit_before = db.session.scalar(select(db.func.count()).select_from(AuditRecord))
    db.session.commit()
    response = place(api, buyer, (product, 1))
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "insufficient_stock"
    assert db.session.scalar(select(db.func.count()).select_from(AuditRecord)) == audit_before
    assert db.session.scalar(select(db.func.count()).select_from(BuyerProductCount)) == 0
    assert stock(product) == 0


def test_taking_stock_at_checkout_empties_the_storefront_caches(app, api, make, monkeypatch):
    buyer, product = make.user(), make.product(stock=5)
    emptied = []
    monkeypatch.setattr(page_cache, "invalidate", lambda: emptied.append(True))
    assert place(api, buyer, (product, 1)).status_code == 201
    assert emptied


def test_the_audit_record_names_the_amount_and_every_order(app, api, make):
    buyer, rice, tea = make.user(), make.product(price_fen=1990, stock=5), make.product(price_fen=3500, stock=5)
    body = place(api, buyer, (rice, 2), (tea, 1)).get_json()
    record = db.session.scalar(select(AuditRecord).where(AuditRecord.action == "checkout.place",
                                                         AuditRecord.object_id == body["id"]))
    by_coop = sorted(body["orders"], key=lambda o: o["cooperative_id"])
    assert record.actor_id == buyer.id and record.object_type == "checkouts"
    assert record.after == {"amount_fen": 2 * 1990 + 3500, "orders": [o["id"] for o in by_coop]}


def test_paying_reads_the_checkouts_orders_once_before_the_answer(app, api, make):
    """The payment reads the checkout's orders (with their lines and events) as the view
    loads the checkout, and again for the answer after the commit; finding the checkout
    by its payment and marking it paid read only its row."""
    buyer = make.user()
    placed = place(api, buyer, (make.product(stock=5), 1), (make.product(stock=5), 2)).get_json()
    response, seen = _statements_of(app, lambda: api("post", f"/checkouts/{placed['id']}/demo-confirm", user=buyer))
    body = response.get_json()
    assert response.status_code == 200, body
    assert body["status"] == "paid" and [o["status"] for o in body["orders"]] == ["paid", "paid"]
    assert all(o["events"][-1]["status"] == "paid" for o in body["orders"])
    assert len([s for s in seen if s.startswith("SELECT orders")]) == 2, seen


def test_a_checkout_with_a_token_that_is_not_live_is_401_and_writes_nothing(app, client, make):
    """The token's rule (not revoked, not expired, an active account) holds in the
    checkout's own statement on PostgreSQL as in the token read elsewhere."""
    from datetime import timedelta

    from marketplace.auth.models import ApiToken
    from marketplace.auth.services import revoke_api_token
    from marketplace.core.db import utcnow
    from tests.orders.helpers import snapshot

    product = make.product(stock=5)
    body = {"items": items((product, 1)), "shipping_address": ADDRESS}
    revoked, expired, inactive = make.user(), make.user(), make.user()
    tokens = {}
    for user in (revoked, expired, inactive):
        tokens[user.id] = issue_api_token(user)[0]
    db.session.commit()
    revoke_api_token(db.session.scalar(select(ApiToken.id).where(ApiToken.user_id == revoked.id)))
    db.session.scalar(select(ApiToken).where(ApiToken.user_id == expired.id)).expires_at = utcnow() - timedelta(1)
    inactive.active = False
    db.session.commit()
    before = snapshot(product)
    for user in (revoked, expired, inactive):
        response = client.post("/api/v1/checkouts", json=body, headers={"Authorization": f"Bearer {tokens[user.id]}"})
        assert response.status_code == 401 and response.get_json()["error"]["code"] == "invalid_token"
    assert snapshot(product) == before
