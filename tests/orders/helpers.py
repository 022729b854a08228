"""Helpers shared by the buying tests: place and pay checkouts through the API, and
read back what a buyer or a cooperative would see."""
from sqlalchemy import func, select

from marketplace.core.audit import AuditRecord
from marketplace.extensions import db
from marketplace.orders.models import BuyerProductCount, Checkout, Order, OrderLine

ADDRESS = {"name": "Li Wei", "phone": "13800138000", "province": "Beijing", "city": "Beijing",
           "address": "12 Chaoyang Road, Building 3"}


def items(*pairs):
    """items((product, 2), (other, 1)) -> the API's "items" list."""
    return [{"product_id": p.id, "quantity": q} for p, q in pairs]


def place(api, buyer, *pairs, address=ADDRESS):
    """POST /api/v1/checkouts as the buyer; returns the response."""
    return api("post", "/checkouts", user=buyer, json={"items": items(*pairs), "shipping_address": address})


def place_and_pay(api, buyer, *pairs):
    """A paid checkout (demo provider); returns its JSON with orders paid."""
    placed = place(api, buyer, *pairs)
    assert placed.status_code == 201, placed.get_json()
    paid = api("post", f"/checkouts/{placed.get_json()['id']}/demo-confirm", user=buyer)
    assert paid.status_code == 200, paid.get_json()
    return paid.get_json()


def stock(product) -> int:
    db.session.refresh(product)
    return product.stock


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def held_by(buyer, product) -> int:
    """Units of the product the buyer holds in live orders (for per-buyer limits)."""
    return db.session.scalar(select(BuyerProductCount.quantity).where(
        BuyerProductCount.buyer_id == buyer.id, BuyerProductCount.product_id == product.id)) or 0


def snapshot(*products):
    """Everything a failed checkout must leave as it was."""
    db.session.expire_all()
    return {"checkouts": count(Checkout), "orders": count(Order), "lines": count(OrderLine),
            "stock": [stock(p) for p in products], "held": db.session.scalar(
                select(func.coalesce(func.sum(BuyerProductCount.quantity), 0))),
            "audit": count(AuditRecord)}


def audit_actions(order_id) -> list[str]:
    return list(db.session.scalars(select(AuditRecord.action).where(
        AuditRecord.object_type == "orders", AuditRecord.object_id == order_id).order_by(AuditRecord.id)))


def mails_to(app, email) -> list:
    return [m for m in app.extensions.get("mail_outbox", []) if m["To"] == email]
