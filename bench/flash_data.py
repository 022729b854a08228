"""Data for the flash-sale benchmark, and the database checks after each burst.

The catalog comes from bench/seed.py (the real migrations, rows by COPY), so the bare
page has the same kind of table to read as in the storefront benchmark. On top of it:
the buyers, each with an API token of their own (inserted directly, as
auth.services.issue_api_token would store it: only the SHA-256 of the token), and one
fresh product per round, so each round's sales are counted apart.
"""
import hashlib
import secrets
import uuid
from datetime import datetime, timedelta, timezone

import psycopg

from . import seed

BUYER_DOMAIN = "flash.bench.example"


def _buyer_email(i):
    return f"buyer{i}@{BUYER_DOMAIN}"


def buyer_count(conn) -> int:
    return conn.execute("SELECT count(*) FROM users WHERE email LIKE %s", (f"%@{BUYER_DOMAIN}",)).fetchone()[0]


def add_buyers(url, buyers: int) -> None:
    """Buyer accounts buyer1..buyerN (no password: they only use the API)."""
    now = datetime.now(timezone.utc)
    with psycopg.connect(seed.libpq_url(url)) as conn, conn.cursor() as cur:
        have = buyer_count(conn)
        rows = (dict(email=_buyer_email(i), display_name=f"Flash buyer {i}", password_hash="!bench-account-no-login",
                     role="buyer", locale="en", active=True, session_key=uuid.uuid4().hex, failed_logins=0,
                     locked_until=None, created_at=now, last_login_at=None) for i in range(have + 1, buyers + 1))
        seed._copy(cur, "users", rows)
        conn.commit()


def issue_tokens(url, buyers: int) -> list[str]:
    """A new bearer token for each of the first `buyers` buyers; returns the raw tokens."""
    now = datetime.now(timezone.utc)
    with psycopg.connect(seed.libpq_url(url)) as conn, conn.cursor() as cur:
        ids = [r[0] for r in cur.execute(
            "SELECT id FROM users WHERE email LIKE %s ORDER BY id LIMIT %s", (f"%@{BUYER_DOMAIN}", buyers))]
        if len(ids) < buyers:
            raise RuntimeError(f"only {len(ids)} benchmark buyers in the database, {buyers} wanted")
        raw = [secrets.token_urlsafe(32) for _ in ids]
        seed._copy(cur, "api_tokens", (dict(user_id=uid, token_hash=hashlib.sha256(tok.encode()).hexdigest(),
                                            created_at=now, expires_at=now + timedelta(days=1), revoked_at=None)
                                       for uid, tok in zip(ids, raw)))
        conn.commit()
    return raw


FLASH_TITLE = "限时抢购 Flash sale"


def flash_products(url) -> int:
    """Products made by earlier runs (they stay: orders point at them); 0 if no database."""
    try:
        with psycopg.connect(seed.libpq_url(url), connect_timeout=5) as conn:
            return conn.execute("SELECT count(*) FROM products WHERE title LIKE %s",
                                (FLASH_TITLE + "%",)).fetchone()[0]
    except psycopg.Error:
        return 0


def new_flash_product(url, units: int, label: str) -> int:
    """A copy of the oldest seeded product with `units` in stock, no per-buyer limit,
    on sale from a verified cooperative; returns its id."""
    with psycopg.connect(seed.libpq_url(url)) as conn:
        cols = [r[0] for r in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' "
            "AND table_name = 'products' AND column_name <> 'id' ORDER BY ordinal_position")]
        title = f"{FLASH_TITLE} {label}"
        overrides = {"title": title, "stock": units, "per_buyer_limit": None, "status": "active",
                     "search_text": title.lower(), "cover_key": None, "created_at": datetime.now(timezone.utc),
                     "updated_at": datetime.now(timezone.utc)}
        select = ", ".join("%s" if c in overrides else f"p.{c}" for c in cols)
        params = [overrides[c] for c in cols if c in overrides]
        product_id = conn.execute(
            f"INSERT INTO products ({', '.join(cols)}) SELECT {select} FROM products p "
            "JOIN cooperatives c ON c.id = p.cooperative_id WHERE c.status = 'verified' "
            "ORDER BY p.id LIMIT 1 RETURNING id", params).fetchone()[0]
        conn.commit()
    return product_id


def check_round(url, product_id: int, units: int) -> dict:
    """What the database says after a burst on `product_id` (after the winners paid)."""
    with psycopg.connect(seed.libpq_url(url)) as conn:
        one = lambda q: conn.execute(q, {"p": product_id}).fetchone()  # noqa: E731
        stock = one("SELECT stock FROM products WHERE id = %(p)s")[0]
        reserved = one("SELECT coalesce(sum(l.quantity), 0), count(DISTINCT o.checkout_id) FROM order_lines l "
                       "JOIN orders o ON o.id = l.order_id WHERE l.product_id = %(p)s AND o.status <> 'cancelled'")
        paid = one("SELECT coalesce(sum(l.quantity), 0) FROM order_lines l JOIN orders o ON o.id = l.order_id "
                   "WHERE l.product_id = %(p)s AND o.status = 'paid'")[0]
        held = one("SELECT coalesce(sum(quantity), 0) FROM buyer_product_counts WHERE product_id = %(p)s")[0]
    return {"stock": stock, "reserved": reserved[0], "checkouts": reserved[1], "paid": paid, "held": held,
            "ok": stock == 0 and reserved[0] == units and paid == units and stock + reserved[0] == units}


def stock_guard(url) -> str | None:
    """The CHECK constraint that backs the guarded UPDATE (stock can never go below 0)."""
    with psycopg.connect(seed.libpq_url(url)) as conn:
        row = conn.execute("SELECT pg_get_constraintdef(oid) FROM pg_constraint "
                           "WHERE conrelid = 'products'::regclass AND contype = 'c' "
                           "AND pg_get_constraintdef(oid) LIKE '%stock >= 0%'").fetchone()
    return row[0] if row else None
