"""Signals other domains listen to (households accrue on `line_paid`), so orders never
imports them. Receivers run inside the same transaction as the change."""
from blinker import Namespace

_signals = Namespace()

#: sender: the new checkout's id -- sent when it is written (counted if its transaction commits)
checkout_placed = _signals.signal("checkout-placed")
#: sender: the Order; kwargs: lines (list of OrderLine) -- sent once, when paid
order_paid = _signals.signal("order-paid")
#: sender: the Order; kwargs: refund (Refund) with per-line amounts
order_refunded = _signals.signal("order-refunded")
