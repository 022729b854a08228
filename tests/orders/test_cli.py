"""The scheduled jobs: `flask orders expire-reservations` puts unpaid goods back on
sale, `flask orders auto-deliver` completes parcels the buyer never confirmed."""
from datetime import timedelta

from marketplace.coops.models import Cooperative
from marketplace.core.db import utcnow
from marketplace.extensions import db
from marketplace.orders.cli import orders_cli
from marketplace.orders.models import Checkout, CheckoutStatus, Order, OrderStatus
from tests.conftest import owner_of
from tests.orders.helpers import mails_to, place, place_and_pay, stock


def run(app, *args):
    result = app.test_cli_runner().invoke(orders_cli, list(args))
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    return result.output


def test_expire_reservations_cancels_overdue_checkouts_and_returns_their_stock(app, api, make):
    product = make.product(stock=10)
    buyer = make.user()
    buyer.locale = "en"
    db.session.commit()
    overdue = place(api, buyer, (product, 4)).get_json()["id"]
    fresh = place(api, buyer, (product, 1)).get_json()["id"]
    paid = place_and_pay(api, buyer, (product, 2))["id"]
    for checkout_id in (overdue, paid):
        db.session.get(Checkout, checkout_id).expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    assert stock(product) == 3

    assert run(app, "expire-reservations").strip() == "Expired 1 checkout(s)."
    assert stock(product) == 7
    statuses = {c: db.session.get(Checkout, c).status for c in (overdue, fresh, paid)}
    assert statuses == {overdue: CheckoutStatus.cancelled, fresh: CheckoutStatus.pending_payment,
                        paid: CheckoutStatus.paid}
    assert db.session.get(Checkout, overdue).cancel_reason == "expired"
    assert api("get", f"/checkouts/{overdue}", user=buyer).get_json()["orders"][0]["status"] == "cancelled"
    assert any("Your order is cancelled and nothing was charged." in m.get_content()
               for m in mails_to(app, buyer.email))
    assert run(app, "expire-reservations").strip() == "Expired 0 checkout(s)."  # once only
    assert stock(product) == 7


def test_auto_deliver_completes_parcels_shipped_more_than_14_days_ago(app, api, make):
    product = make.product(stock=10)
    buyer, owner = make.user(), owner_of(db.session.get(Cooperative, product.cooperative_id))
    orders = [place_and_pay(api, buyer, (product, 1))["orders"][0]["id"] for _ in range(3)]
    old, recent, unshipped = (db.session.get(Order, i) for i in orders)
    for order in (old, recent):
        assert api("post", f"/orders/{order.id}/ship", user=owner,
                   json={"carrier": "EMS", "tracking_no": "EMS0001"}).status_code == 200
    db.session.get(Order, old.id).shipped_at = utcnow() - timedelta(days=15)
    db.session.get(Order, recent.id).shipped_at = utcnow() - timedelta(days=13)
    db.session.commit()

    assert run(app, "auto-deliver").strip() == "Delivered 1 order(s)."
    assert db.session.get(Order, old.id).status == OrderStatus.delivered
    assert db.session.get(Order, old.id).events[-1].note == "automatic after 14 days"
    assert db.session.get(Order, recent.id).status == OrderStatus.shipped
    assert db.session.get(Order, unshipped.id).status == OrderStatus.paid
    assert run(app, "auto-deliver").strip() == "Delivered 0 order(s)."
