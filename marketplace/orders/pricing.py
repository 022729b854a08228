"""Hooks for prices and units that come from somewhere other than the product:
a live show's price and quota. The livestream package registers itself here, so
orders never imports it (the dependency runs livestream -> orders)."""

_live = None


def register_live_source(source) -> None:
    """`source` has take(buyer, wanted_line, product) -> unit price in fen or None,
    and give_back(line, quantity) -> True when the units went back to a live quota."""
    global _live
    _live = source


def take_live(buyer, wanted, product) -> int | None:
    return _live.take(buyer, wanted, product) if (_live and wanted.livestream_id) else None


def give_back_live(line, quantity) -> bool:
    return bool(_live and line.livestream_id and _live.give_back(line, quantity))
