"""Seed the ledger benchmark's database: paid orders waiting for their accruals.

On top of bench/seed.py's cooperatives and products (schema from the real
migrations), by COPY: enrolled households, one approved product link per
product (so every household is linked), a whole-cooperative dividend link in
one cooperative out of ten (lines there split over two households), and paid
orders of 1 to 5 lines from one cooperative each, with their checkouts. The
ledger itself stays empty: filling it is what the benchmark measures.

Two twin tables of ledger_entries (same columns, indexes, unique and foreign-key
constraints, own id sequence) take the bare bulk inserts of the baseline.
"""
import hashlib
import random
import time
import uuid
from datetime import date, datetime, timedelta, timezone

import psycopg
from psycopg import sql

from . import seed
from .seed import _copy, libpq_url

BARE_TABLES = ("bench_bare_copy", "bench_bare_insert")
PAID_FROM = datetime(2026, 1, 1, tzinfo=timezone.utc)
PAID_DAYS = 300
ADDRESS = '{"name": "Bench Buyer", "phone": "13800000000", "province": "Beijing", "city": "Beijing", ' \
          '"address": "1 Chang\'an Avenue"}'


def _households(rng, count, created):
    for i in range(1, count + 1):
        digest = hashlib.sha256(f"bench-household-{i}".encode()).hexdigest()
        members = rng.randint(1, 7)
        yield dict(id=i, file_no=f"B{i:011d}", head_name=f"Head {i}", id_number_encrypted="bench-not-encrypted",
                   id_number_hash=digest, id_number_masked="610426********0000", province="Shaanxi",
                   county=f"County {i % 50}", township=f"Township {i % 400}", village=f"Village {i % 2000}",
                   members=members, working_members=rng.randint(0, members), status="stable", consent=True,
                   enrolled_at=date(2020, 1, 1), created_at=created)


def _link(lid, coop_id, household_id, product_id, kind, share_bp, fixed, owner_id, staff_id, created):
    return dict(id=lid, link_key=uuid.UUID(int=lid).hex, version=1, cooperative_id=coop_id,
                household_id=household_id, kind=kind, product_id=product_id, share_bp=share_bp,
                fixed_fen_per_unit=fixed, valid_from=date(2020, 1, 1), valid_to=None, status="approved",
                proposed_by_id=owner_id, decided_by_id=staff_id, decided_at=created, note="", created_at=created)


def _links(rng, products, staff_id, created):
    """One product link per product (household id = product id) and, in one cooperative
    of ten, a 5 % dividend on the whole cooperative to its first product's household."""
    out, first_of = [], {}
    for pid, coop_id, _price in products:
        share = rng.randint(300, 2500) if rng.random() < 0.7 else None
        fixed = None if share else rng.randint(50, 500)
        out.append(_link(len(out) + 1, coop_id, pid, pid, "supplier", share, fixed, coop_id, staff_id, created))
        first_of.setdefault(coop_id, pid)
    for coop_id, pid in sorted(first_of.items()):
        if coop_id % 10 == 0:
            out.append(_link(len(out) + 1, coop_id, pid, None, "dividend", 500, None, coop_id, staff_id, created))
    return out


def _orders(rng, products, lines_wanted, buyer_id):
    """Yield (checkout, order, [line rows]) until `lines_wanted` lines exist."""
    by_coop = {}
    for pid, coop_id, price in products:
        by_coop.setdefault(coop_id, []).append((pid, price))
    line_id, order_id = 0, 0
    while line_id < lines_wanted:
        pid, coop_id, _ = rng.choice(products)
        order_id += 1
        paid = PAID_FROM + timedelta(seconds=rng.randrange(PAID_DAYS * 86400))
        lines = []
        for _ in range(min(rng.randint(1, 5), lines_wanted - line_id)):
            line_id += 1
            product, price = rng.choice(by_coop[coop_id])
            quantity = rng.randint(1, 4)
            lines.append(dict(id=line_id, order_id=order_id, product_id=product, livestream_id=None,
                              title=f"Product {product}", unit="500 g bag", unit_price_fen=price,
                              quantity=quantity, line_total_fen=price * quantity, refunded_quantity=0,
                              refunded_fen=0))
        total = sum(line["line_total_fen"] for line in lines)
        checkout = dict(id=order_id, buyer_id=buyer_id, status="paid", amount_fen=total, currency="CNY",
                        expires_at=paid + timedelta(minutes=30), shipping_address=ADDRESS, provider="demo",
                        payment_intent_id=None, created_at=paid - timedelta(minutes=2), paid_at=paid,
                        cancelled_at=None, cancel_reason=None)
        order = dict(id=order_id, checkout_id=order_id, cooperative_id=coop_id, buyer_id=buyer_id, status="paid",
                     subtotal_fen=total, refunded_fen=0, carrier=None, tracking_no=None,
                     created_at=paid - timedelta(minutes=2), paid_at=paid, shipped_at=None, delivered_at=None)
        yield checkout, order, lines


def _people(first_id, created):
    base = dict(password_hash="!bench-account-no-login", locale=None, active=True, failed_logins=0,
                locked_until=None, created_at=created, last_login_at=None)
    return [dict(id=first_id, email="buyer@bench.example", display_name="Bench Buyer", role="buyer",
                 session_key=uuid.uuid4().hex, **base),
            dict(id=first_id + 1, email="staff@bench.example", display_name="Bench Staff", role="staff",
                 session_key=uuid.uuid4().hex, **base)]


def _make_twins(cur):
    """Twin tables of ledger_entries for the baseline: LIKE ... INCLUDING ALL copies the
    columns, indexes and unique constraints; the foreign keys are copied one by one."""
    fks = cur.execute("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'ledger_entries'::regclass"
                      " AND contype = 'f'").fetchall()
    for name in BARE_TABLES:
        ident, seq = sql.Identifier(name), sql.Identifier(f"{name}_id_seq")
        cur.execute(sql.SQL("CREATE TABLE {} (LIKE ledger_entries INCLUDING ALL)").format(ident))
        cur.execute(sql.SQL("CREATE SEQUENCE {} OWNED BY {}.id").format(seq, ident))
        cur.execute(sql.SQL("ALTER TABLE {} ALTER COLUMN id SET DEFAULT nextval({})").format(
            ident, sql.Literal(f"{name}_id_seq")))
        for (definition,) in fks:
            cur.execute(sql.SQL("ALTER TABLE {} ADD ").format(ident) + sql.SQL(definition))


def reusable(url, lines, households, cooperatives, *, empty_ledger=True) -> dict | None:
    """The stats of a database seeded with these options (counts of orders, lines, households,
    cooperatives, products and links, the twin tables present), else None. With
    `empty_ledger` its ledger and twins must still be empty, as seeding leaves them."""
    try:
        with psycopg.connect(libpq_url(url)) as conn:
            have = conn.execute("SELECT (SELECT count(*) FROM order_lines), (SELECT count(*) FROM households), "
                                "(SELECT count(*) FROM cooperatives), (SELECT count(*) FROM products), "
                                "(SELECT count(*) FROM benefit_links), (SELECT count(*) FROM orders), "
                                "(SELECT count(*) FROM ledger_entries) + (SELECT count(*) FROM bench_bare_copy) "
                                "+ (SELECT count(*) FROM bench_bare_insert)").fetchone()
    except psycopg.Error:  # no such database or table: not seeded by us
        return None
    if have[:4] != (lines, households, cooperatives, households) or (empty_ledger and have[6]):
        return None
    return {"households": households, "cooperatives": cooperatives, "links": have[4], "orders": have[5],
            "lines": lines, "seconds": 0.0, "reused": True}


def seed_ledger(url, lines, households=20_000, cooperatives=2_000, random_seed=2026, log=print) -> dict:
    """Rebuild the database at `url` (its public schema is DROPPED) with `households`
    products and households, and paid orders holding `lines` order lines."""
    started = time.perf_counter()
    seed.seed(url, products=households, cooperatives=cooperatives, random_seed=random_seed, log=log)
    rng = random.Random(random_seed + 1)
    created = datetime(2025, 12, 1, tzinfo=timezone.utc)
    with psycopg.connect(libpq_url(url)) as conn, conn.cursor() as cur:
        products = cur.execute("SELECT id, cooperative_id, price_fen FROM products ORDER BY id").fetchall()
        buyer_id = cur.execute("SELECT max(id) + 1 FROM users").fetchone()[0]
        _copy(cur, "users", _people(buyer_id, created))
        _copy(cur, "households", _households(rng, households, created))
        links = _links(rng, products, buyer_id + 1, created)
        _copy(cur, "benefit_links", links)
        # three passes over the same deterministic orders: nothing of a million lines is held in memory
        for table, pick in (("checkouts", lambda c, o, ls: [c]), ("orders", lambda c, o, ls: [o]),
                            ("order_lines", lambda c, o, ls: ls)):
            orders = _orders(random.Random(random_seed + 2), products, lines, buyer_id)
            _copy(cur, table, (row for made in orders for row in pick(*made)))
        counts = cur.execute("SELECT (SELECT count(*) FROM orders), (SELECT count(*) FROM order_lines)").fetchone()
        for table in ("users", "households", "benefit_links", "checkouts", "orders", "order_lines"):
            cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        _make_twins(cur)
        conn.commit()
        conn.autocommit = True
        cur.execute("VACUUM ANALYZE")
    stats = {"households": households, "cooperatives": cooperatives, "links": len(links), "orders": counts[0],
             "lines": counts[1], "seconds": time.perf_counter() - started}
    log(f"  seeded {stats['orders']:,} paid orders with {stats['lines']:,} lines, {households:,} households, "
        f"{stats['links']:,} approved links in {stats['seconds']:.0f}s")
    return stats
