"""Data for the flash-sale benchmark, and the database checks after each burst.

The catalog comes from bench/seed.py (the real migrations, rows by COPY), so the bare
page has the same kind of table to read as in the storefront benchmark. On top of it:
the buyers, each with an API token of their own (inserted directly, as
auth.services.issue_api_token would store it: only the SHA-256 of the token), and one
fresh product per round, so each round's sales are counted apart.

The buyers are seeded into the PostgreSQL database like the catalog (by COPY); on SQLite
the whole database is then copied into the SQLite file (bench/sqlite_copy.py), and the
tokens, the per-round products and the checks go through SQLAlchemy to whichever
database the app serves from.
"""
import hashlib
import re
import secrets
import uuid
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

import psycopg
from sqlalchemy import MetaData, Table, create_engine, insert, select, text

from . import seed, sqlite_copy

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
    """A new bearer token for each of the first `buyers` buyers; returns the raw tokens.
    `url` is the database the app serves from: PostgreSQL or the SQLite copy."""
    now = datetime.now(timezone.utc)
    with _connect(url) as conn:
        ids = list(conn.scalars(text("SELECT id FROM users WHERE email LIKE :pattern ORDER BY id LIMIT :n"),
                                {"pattern": f"%@{BUYER_DOMAIN}", "n": buyers}))
        if len(ids) < buyers:
            raise RuntimeError(f"only {len(ids)} benchmark buyers in the database, {buyers} wanted")
        raw = [secrets.token_urlsafe(32) for _ in ids]
        conn.execute(insert(_table(conn, "api_tokens")), [
            dict(user_id=uid, token_hash=hashlib.sha256(tok.encode()).hexdigest(), created_at=now,
                 expires_at=now + timedelta(days=1), revoked_at=None) for uid, tok in zip(ids, raw)])
        conn.commit()
    return raw


@contextmanager
def _connect(url):
    """A SQLAlchemy connection to PostgreSQL or SQLite: the checks and the per-round
    products go where the app serves from, so they are written once for both."""
    engine = create_engine(sqlite_copy.engine_url(url))
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


def _table(conn, name) -> Table:
    """The table as the database has it (reflected: typed columns, PostgreSQL-only ones included)."""
    return Table(name, MetaData(), autoload_with=conn)


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
    with _connect(url) as conn:
        products, cooperatives = _table(conn, "products"), _table(conn, "cooperatives")
        template = conn.execute(
            select(products).join(cooperatives, cooperatives.c.id == products.c.cooperative_id)
            .where(cooperatives.c.status == "verified").order_by(products.c.id).limit(1)).mappings().one()
        title, now = f"{FLASH_TITLE} {label}", datetime.now(timezone.utc)
        row = {**{k: v for k, v in template.items() if k != "id"},
               "title": title, "stock": units, "per_buyer_limit": None, "status": "active",
               "search_text": title.lower(), "cover_key": None, "created_at": now, "updated_at": now}
        product_id = conn.execute(insert(products).values(row).returning(products.c.id)).scalar_one()
        conn.commit()
    return product_id


def check_round(url, product_id: int, units: int) -> dict:
    """What the database the app served from says after a burst on `product_id` (after the
    winners paid): on SQLite, the file itself, read after every gunicorn worker committed."""
    with _connect(url) as conn:
        one = lambda q: conn.execute(text(q), {"p": product_id}).one()  # noqa: E731
        stock = one("SELECT stock FROM products WHERE id = :p")[0]
        reserved = one("SELECT coalesce(sum(l.quantity), 0), count(DISTINCT o.checkout_id) FROM order_lines l "
                       "JOIN orders o ON o.id = l.order_id WHERE l.product_id = :p AND o.status <> 'cancelled'")
        paid = one("SELECT coalesce(sum(l.quantity), 0) FROM order_lines l JOIN orders o ON o.id = l.order_id "
                   "WHERE l.product_id = :p AND o.status = 'paid'")[0]
        held = one("SELECT coalesce(sum(quantity), 0) FROM buyer_product_counts WHERE product_id = :p")[0]
    return {"stock": stock, "reserved": reserved[0], "checkouts": reserved[1], "paid": paid, "held": held,
            "ok": stock == 0 and reserved[0] == units and paid == units and stock + reserved[0] == units}


def stock_guard(url) -> str | None:
    """The CHECK constraint that backs the guarded UPDATE (stock can never go below 0)."""
    if sqlite_copy.is_sqlite(url):
        # SQLite keeps no constraint catalogue: read the CREATE TABLE the migrations wrote
        with _connect(url) as conn:
            ddl = conn.scalar(text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'products'"))
        found = re.search(r"(?:CONSTRAINT\s+\w+\s+)?CHECK\s*\(\s*stock\s*>=\s*0\s*\)", ddl or "", re.I)
        return found.group(0) if found else None
    with psycopg.connect(seed.libpq_url(url)) as conn:
        row = conn.execute("SELECT pg_get_constraintdef(oid) FROM pg_constraint "
                           "WHERE conrelid = 'products'::regclass AND contype = 'c' "
                           "AND pg_get_constraintdef(oid) LIKE '%stock >= 0%'").fetchone()
    return row[0] if row else None
