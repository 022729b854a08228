"""Money is an integer number of fen (1/100 yuan) plus an ISO currency. No floats.

Parsing and formatting happen only at the edges (forms, templates); the API
speaks `*_fen` integers.
"""
from decimal import Decimal, InvalidOperation, ROUND_HALF_UP

DEFAULT_CURRENCY = "CNY"
SYMBOLS = {"CNY": "¥"}
#: the highest unit price we accept, in fen (¥100,000): anything above is a typo
MAX_PRICE_FEN = 10_000_000


def format_fen(fen: int, currency: str = DEFAULT_CURRENCY) -> str:
    """12345 -> '¥123.45'; negative amounts keep their sign in front."""
    if fen is None:
        return ""
    sign = "-" if fen < 0 else ""
    yuan, cents = divmod(abs(int(fen)), 100)
    return f"{sign}{SYMBOLS.get(currency, currency + ' ')}{yuan:,}.{cents:02d}"


def parse_yuan(text) -> int:
    """'12.34' or '¥1,234.5' -> fen. Raises ValueError for anything else.

    More than two decimals is refused rather than rounded: silently changing a
    price a person typed is worse than asking again.
    """
    cleaned = str(text or "").strip().replace("¥", "").replace("￥", "").replace(",", "")
    try:
        amount = Decimal(cleaned)
    except InvalidOperation:
        raise ValueError("not a number") from None
    if not amount.is_finite():
        raise ValueError("not a number")
    fen = amount * 100
    if fen != fen.to_integral_value():
        raise ValueError("at most two decimals")
    return int(fen.to_integral_value(rounding=ROUND_HALF_UP))


def fen_to_yuan_str(fen: int) -> str:
    """1234 -> '12.34' (for pre-filling form fields)."""
    if fen is None:
        return ""
    sign = "-" if fen < 0 else ""
    yuan, cents = divmod(abs(int(fen)), 100)
    return f"{sign}{yuan}.{cents:02d}"
