"""Mail the buyer when an order changes, in the buyer's language."""
from flask_babel import force_locale
from flask_babel import gettext as _

from ..auth.models import User
from ..core.mail import send_mail
from ..core.money import format_fen
from ..core.urls import external_url
from ..extensions import db


def _status_text(status):
    return {
        "paid": _("We have your payment. The cooperative is packing your order."),
        "shipped": _("Your parcel is on its way."),
        "delivered": _("Your order is delivered. Thank you for buying from the village!"),
        "cancelled": _("Your order is cancelled and nothing was charged."),
        "refunded": _("Your order is refunded."),
        "partially_refunded": _("Part of your order is refunded."),
    }.get(status, status)


def tell_buyer(order, extra: str = "") -> None:
    buyer = db.session.get(User, order.buyer_id)
    with force_locale(buyer.locale or "zh_CN"):
        subject = _("Order %(id)d: %(status)s", id=order.id, status=_(order.status.value))
        lines = [_status_text(order.status.value), "",
                 *[f"{line.title} × {line.quantity}  {format_fen(line.line_total_fen)}" for line in order.lines],
                 "", extra, external_url("orders.detail", order_id=order.id)]
        send_mail(buyer.email, subject, "\n".join(x for x in lines if x is not None))


def _refund_reason(why: str, checkout) -> str:
    if why == "late":
        return _("Your payment arrived after the goods held for you were released, and they have been sold "
                 "since. We could not complete your order, so we sent your payment back in full.")
    return _("The payment we received did not match the total of your order (%(total)s). We cancelled the "
             "order and sent your payment back in full.", total=format_fen(checkout.amount_fen, checkout.currency))


def tell_buyer_payment_refunded(checkout, amount_fen: int, currency: str, why: str) -> None:
    """A payment we could not honour went back by itself (`why`: "late" or
    "amount_mismatch"): tell the buyer what happened to their money, and why."""
    buyer = db.session.get(User, checkout.buyer_id)
    with force_locale(buyer.locale or "zh_CN"):
        amount = format_fen(amount_fen, currency or checkout.currency)
        subject = _("Your payment of %(amount)s is refunded", amount=amount)
        lines = [_refund_reason(why, checkout),
                 _("Banks usually show a refund within a few working days."), ""]
        for order in checkout.orders:
            lines.append(_("Order %(id)d: %(status)s", id=order.id, status=_(order.status.value)))
            lines += [f"  {line.title} × {line.quantity}" for line in order.lines]
        lines += ["", external_url("orders.my_orders")]
        send_mail(buyer.email, subject, "\n".join(lines))
