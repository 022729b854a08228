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
