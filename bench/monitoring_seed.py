"""Seed the monitoring benchmark's database: households with 24 months of ledger and
income data, and one big cooperative with 100,000 paid order lines.

On top of bench/seed.py's cooperatives and products (schema from the real
migrations), by COPY:

- `households` households in 50 counties, 1 to 6 members, each linked (an approved
  whole-cooperative link) to one cooperative;
- 24 months of marketplace income for each: one accrual a month from its cooperative,
  and a payout of the whole balance at the start of every quarter (with a reference);
- the big cooperative (the one with the most products) instead has `lines` paid order
  lines in the last 12 months (orders of 1 to 5 lines, with their checkouts), each
  accruing its share to one of its linked households; 1 % are refunded in full, with
  the reversal written the same day;
- other income and essential spending that staff record: wages most months, a subsidy
  now and then, medical bills for some; about 5 % of households lose half their
  wages in the last 3 months, 3 % earn too little for the monitoring line, 2 % have
  medical bills above their income, 1 % have a risk event in the last 90 days;
- this year's monitoring line (7,500 yuan per person).

The ledger is one valid hash chain (entries ordered by time, `seq` gapless, every hash
computed by marketplace.households.ledger.entry_hash), so `flask ledger verify` and the
reconciliation's chain check find nothing wrong.
"""
import hashlib
import json
import random
import time
import uuid
from datetime import date, datetime, timedelta, timezone

import psycopg
from psycopg import sql

from marketplace.households.ledger import GENESIS, HASHED, entry_hash

from . import seed
from .seed import _copy, libpq_url

SCAN_DAY = date(2026, 11, 15)  #: the scan runs "as of" this day; data covers the 24 months to it
MONTHS = 24
LINE_YUAN = 7500
ADDRESS = '{"name": "Bench Buyer", "phone": "13800000000", "province": "Beijing", "city": "Beijing", ' \
          '"address": "1 Chang\'an Avenue"}'
UTC = timezone.utc


def month_starts(n=MONTHS, last=SCAN_DAY):
    """The first day of each of the n months ending with `last`'s month, oldest first."""
    index = last.year * 12 + last.month - 1
    return [date((index - k) // 12, (index - k) % 12 + 1, 1) for k in range(n - 1, -1, -1)]


def at(day: date, seconds: int) -> datetime:
    """A moment on `day` (China time, UTC+8), `seconds` after its midnight, in UTC."""
    return datetime(day.year, day.month, day.day, tzinfo=UTC) - timedelta(hours=8) + timedelta(seconds=seconds)


# --- people, households, links ---------------------------------------------------------------

def _people(first_id, created):
    base = dict(password_hash="!bench-account-no-login", locale=None, active=True, failed_logins=0,
                locked_until=None, created_at=created, last_login_at=None)
    return [dict(id=first_id, email="buyer@monitoring.bench", display_name="Bench Buyer", role="buyer",
                 session_key=uuid.uuid4().hex, **base),
            dict(id=first_id + 1, email="staff@monitoring.bench", display_name="Bench Staff", role="staff",
                 session_key=uuid.uuid4().hex, **base)]


def _households(rng, count, created):
    for i in range(1, count + 1):
        members = rng.randint(1, 6)
        yield dict(id=i, file_no=f"M{i:011d}", head_name=f"Head {i}", id_number_encrypted="bench-not-encrypted",
                   id_number_hash=hashlib.sha256(f"monitoring-household-{i}".encode()).hexdigest(),
                   id_number_masked="610426********0000", province="Shaanxi", county=f"County {i % 50}",
                   township=f"Township {i % 400}", village=f"Village {i % 2000}", members=members,
                   working_members=rng.randint(1, members), status="stable", consent=True,
                   enrolled_at=date(2020, 1, 1), created_at=created)


def _links(households, coop_of, staff_id, owner_of, created):
    """One approved whole-cooperative link per household (link id = household id)."""
    for h in range(1, households + 1):
        coop = coop_of(h)
        yield dict(id=h, link_key=uuid.UUID(int=h).hex, version=1, cooperative_id=coop, household_id=h,
                   kind="dividend", product_id=None, share_bp=1000, fixed_fen_per_unit=None,
                   valid_from=date(2020, 1, 1), valid_to=None, status="approved", proposed_by_id=owner_of[coop],
                   decided_by_id=staff_id, decided_at=created, note="", created_at=created)


# --- the big cooperative's sales -------------------------------------------------------------------

def _orders(rng, lines_wanted, coop_id, products, buyer_id, households, days):
    """Yield (checkout, order, [lines], [(line, household, accrual fen)], refund or None)."""
    line_id = order_id = 0
    first_day = SCAN_DAY - timedelta(days=days - 1)
    while line_id < lines_wanted:
        order_id += 1
        paid = at(first_day + timedelta(days=rng.randrange(days)), rng.randrange(86400))
        if paid > at(SCAN_DAY, 86399):
            paid = at(SCAN_DAY, 0)
        lines, accruals = [], []
        for _ in range(min(rng.randint(1, 5), lines_wanted - line_id)):
            line_id += 1
            product, price = rng.choice(products)
            quantity = rng.randint(1, 4)
            total = price * quantity
            lines.append(dict(id=line_id, order_id=order_id, product_id=product, livestream_id=None,
                              title=f"Product {product}", unit="500 g bag", unit_price_fen=price, quantity=quantity,
                              line_total_fen=total, refunded_quantity=0, refunded_fen=0))
            accruals.append((line_id, rng.choice(households), total * 1000 // 10000))
        subtotal = sum(x["line_total_fen"] for x in lines)
        refund = None
        if rng.random() < 0.01:  # refunded in full the same day
            for x in lines:
                x["refunded_quantity"], x["refunded_fen"] = x["quantity"], x["line_total_fen"]
            refund = dict(id=order_id, order_id=order_id, amount_fen=subtotal, restocked=False,
                          provider_refund_id=None, actor_id=None, reason="bench",
                          lines=json.dumps([{"order_line_id": x["id"], "quantity": x["quantity"],
                                             "amount_fen": x["line_total_fen"]} for x in lines]),
                          created_at=paid + timedelta(minutes=30))
        status = "refunded" if refund else "paid"
        checkout = dict(id=order_id, buyer_id=buyer_id, status="paid", amount_fen=subtotal, currency="CNY",
                        expires_at=paid + timedelta(minutes=30), shipping_address=ADDRESS, provider="demo",
                        payment_intent_id=None, created_at=paid - timedelta(minutes=2), paid_at=paid,
                        cancelled_at=None, cancel_reason=None)
        order = dict(id=order_id, checkout_id=order_id, cooperative_id=coop_id, buyer_id=buyer_id, status=status,
                     subtotal_fen=subtotal, refunded_fen=subtotal if refund else 0, carrier=None, tracking_no=None,
                     created_at=paid - timedelta(minutes=2), paid_at=paid, shipped_at=None, delivered_at=None)
        yield checkout, order, lines, accruals, refund


# --- the ledger ------------------------------------------------------------------------------------

FIELDS = ("kind", "household_id", "cooperative_id", "amount_fen", "order_line_id", "link_id", "rate_bp",
          "fixed_fen_per_unit", "refund_id", "absorbed_fen", "payout_id", "created_at")
HOUSEHOLD, AMOUNT = FIELDS.index("household_id"), FIELDS.index("amount_fen")


def _entry(kind, household, coop, amount, created_at, line=None, link=None, refund=None, payout=None):
    """A ledger event before it is chained: (created_at, values in FIELDS order); tuples,
    not dicts, as there are about 800,000 of them."""
    rate = 1000 if kind != "payout" else None
    return created_at, (kind, household, coop, amount, line, link, rate, None, refund, 0, payout, created_at)


def _monthly_accruals(rng, households, coop_of, big_coop, months):
    """One accrual a month for every household; the big cooperative's households earn from
    its sales in the last 12 months instead."""
    recent = set(months[-12:])
    for h in range(1, households + 1):
        coop = coop_of(h)
        base = rng.randint(300, 3000) * 100
        for m in months:
            if coop == big_coop and m in recent:
                continue
            yield _entry("accrual", h, coop, base + rng.randint(-50, 50) * 100, at(m, rng.randint(3600, 80000)),
                         link=h)


def _payouts(events, households, coop_of, quarter_days, staff_id):
    """A payout of the whole balance at the start of each quarter, per household. Needs the
    accruals (sorted by time) to know each balance; returns payout rows and ledger events."""
    balance = [0] * (households + 1)
    rows, entries = [], []
    i = 0
    for day in quarter_days:
        cut = at(day, 7200)
        while i < len(events) and events[i][0] < cut:
            balance[events[i][1][HOUSEHOLD]] += events[i][1][AMOUNT]
            i += 1
        for h in range(1, households + 1):
            if balance[h] > 0:
                pid = len(rows) + 1
                rows.append(dict(id=pid, cooperative_id=coop_of(h), household_id=h, amount_fen=balance[h],
                                 method="bank_transfer", reference=f"BANK-{pid:08d}", receipt_key=None,
                                 recorded_by_id=staff_id, paid_on=day, created_at=cut + timedelta(seconds=h)))
                entries.append(_entry("payout", h, coop_of(h), -balance[h], cut + timedelta(seconds=h),
                                      payout=pid))
                balance[h] = 0
    return rows, entries


def _chain(events, head: dict):
    """Rows of ledger_entries: events in time order with ids and seq 1..n and the hash
    chain; `head` gets the last hash and the count (for ledger_head)."""
    prev = GENESIS
    for seq, (_, values) in enumerate(events, start=1):
        row = dict(zip(FIELDS, values), id=seq, seq=seq, prev_hash=prev)
        row["hash"] = prev = entry_hash({k: row[k] for k in HASHED}, prev)
        yield row
    head.update(last_hash=prev, entries=len(events))


# --- other income, spending, risk events -------------------------------------------------------------

def _income_records(rng, households, members_of, months, staff_id, created):
    """Wages most months, some subsidies and medical bills; the rule triggers as described above."""
    rid = 0
    last3 = set(months[-3:])
    for h in range(1, households + 1):
        roll = rng.random()
        drop, poor, sick = roll < 0.05, 0.05 <= roll < 0.08, 0.08 <= roll < 0.10
        wage = (rng.randint(200, 600) if poor else rng.randint(2500, 6000)) * 100 * members_of[h] // 3
        for m in months:
            amount = wage // 2 if (drop and m in last3) else wage
            if rng.random() < 0.9 and amount > 0:
                rid += 1
                yield dict(id=rid, household_id=h, month=m, kind="income", category="wages", amount_fen=amount,
                           source="Employer", evidence_key=None, recorded_by_id=staff_id, created_at=created)
            if rng.random() < 0.1:
                rid += 1
                yield dict(id=rid, household_id=h, month=m, kind="income", category="subsidy",
                           amount_fen=rng.randint(100, 500) * 100, source="County", evidence_key=None,
                           recorded_by_id=staff_id, created_at=created)
            if sick or rng.random() < 0.05:
                rid += 1
                yield dict(id=rid, household_id=h, month=m, kind="spending", category="medical",
                           amount_fen=(wage * 3 if sick else rng.randint(100, 2000) * 100), source="Hospital",
                           evidence_key=None, recorded_by_id=staff_id, created_at=created)


def _risk_events(rng, households, staff_id, created):
    n = 0
    for h in range(1, households + 1):
        if rng.random() < 0.01:
            n += 1
            yield dict(id=n, household_id=h, kind=rng.choice(["serious_illness", "disaster", "lost_job"]),
                       occurred_on=SCAN_DAY - timedelta(days=rng.randint(0, 80)), note="", recorded_by_id=staff_id,
                       created_at=created)


# --- putting it together ------------------------------------------------------------------------------

def seed_monitoring(url, households=20_000, lines=100_000, cooperatives=200, random_seed=2026, log=print) -> dict:
    """Rebuild the database at `url` (its public schema is DROPPED) and fill it."""
    started = time.perf_counter()
    seed.seed(url, products=cooperatives * 10, cooperatives=cooperatives, random_seed=random_seed, log=log)
    rng = random.Random(random_seed + 1)
    created = datetime(2024, 11, 1, tzinfo=UTC)
    months = month_starts()
    with psycopg.connect(libpq_url(url)) as conn, conn.cursor() as cur:
        big_coop = cur.execute("SELECT cooperative_id FROM products GROUP BY cooperative_id "
                               "ORDER BY count(*) DESC, cooperative_id LIMIT 1").fetchone()[0]
        products = cur.execute("SELECT id, price_fen FROM products WHERE cooperative_id = %s ORDER BY id",
                               (big_coop,)).fetchall()
        owner_of = dict(cur.execute("SELECT cooperative_id, user_id FROM memberships WHERE role = 'owner'"))
        buyer_id = cur.execute("SELECT max(id) + 1 FROM users").fetchone()[0]
        staff_id = buyer_id + 1
        _copy(cur, "users", _people(buyer_id, created))

        def coop_of(h):
            return h % cooperatives + 1
        household_rows = list(_households(rng, households, created))
        members_of = {r["id"]: r["members"] for r in household_rows}
        _copy(cur, "households", household_rows)
        _copy(cur, "benefit_links", _links(households, coop_of, staff_id, owner_of, created))
        big_households = [h for h in range(1, households + 1) if coop_of(h) == big_coop]
        log(f"  {households:,} households; the big cooperative #{big_coop} has {len(products)} products and "
            f"{len(big_households)} households")

        events = list(_monthly_accruals(rng, households, coop_of, big_coop, months))
        checkouts, orders, order_lines, refunds = [], [], [], []
        for checkout, order, these, accruals, refund in _orders(rng, lines, big_coop, products, buyer_id,
                                                                big_households, 365):
            checkouts.append(checkout)
            orders.append(order)
            order_lines += these
            for line_id, h, fen in accruals:
                events.append(_entry("accrual", h, big_coop, fen, order["paid_at"] + timedelta(seconds=1),
                                     line=line_id, link=h))
                if refund:
                    events.append(_entry("reversal", h, big_coop, -fen, refund["created_at"] + timedelta(seconds=1),
                                         line=line_id, link=h, refund=refund["id"]))
            if refund:
                refunds.append(refund)
        for table, rows in (("checkouts", checkouts), ("orders", orders), ("order_lines", order_lines),
                            ("refunds", refunds)):
            _copy(cur, table, rows)
        events.sort(key=lambda e: e[0])
        quarters = [m for m in months if m.month in (1, 4, 7, 10)]
        payout_rows, payout_events = _payouts(events, households, coop_of, quarters, staff_id)
        _copy(cur, "payouts", payout_rows)
        events = sorted(events + payout_events, key=lambda e: e[0])
        log(f"  chaining {len(events):,} ledger entries ...")
        indexes = seed._secondary_indexes(cur, ["ledger_entries", "income_records"])
        for name, _ in indexes:  # rebuilt once the rows are in: much faster than row by row
            cur.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
        head = {}
        _copy(cur, "ledger_entries", _chain(events, head))
        cur.execute("INSERT INTO ledger_head (id, last_hash, entries) VALUES (1, %(last_hash)s, %(entries)s)", head)
        _copy(cur, "income_records", _income_records(rng, households, members_of, months, staff_id, created))
        _copy(cur, "risk_events", _risk_events(rng, households, staff_id, created))
        cur.execute("INSERT INTO monitoring_lines (year, yuan_per_person, set_by_id, created_at) "
                    "VALUES (%s, %s, %s, %s)", (SCAN_DAY.year, LINE_YUAN, staff_id, created))
        log(f"  rebuilding {len(indexes)} indexes ...")
        for _, indexdef in indexes:
            cur.execute(indexdef)
        for table in ("users", "households", "benefit_links", "checkouts", "orders", "order_lines", "refunds",
                      "payouts", "ledger_entries", "income_records", "risk_events"):
            cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"coalesce((SELECT max(id) FROM {table}), 1))")
        conn.commit()
        conn.autocommit = True
        cur.execute("VACUUM ANALYZE")
    stats = describe(url)
    stats["seconds"] = time.perf_counter() - started
    log(f"  seeded in {stats['seconds']:.0f}s: {stats}")
    return stats


def describe(url) -> dict:
    """Counts that say what the benchmark ran over (and whether --reuse-data may reuse it)."""
    with psycopg.connect(libpq_url(url)) as conn:
        one = lambda q, *a: conn.execute(q, a).fetchone()[0]  # noqa: E731
        big = one("SELECT o.cooperative_id FROM orders o GROUP BY o.cooperative_id ORDER BY count(*) DESC LIMIT 1")
        return {
            "households": one("SELECT count(*) FROM households"),
            "ledger_entries": one("SELECT count(*) FROM ledger_entries"),
            "income_records": one("SELECT count(*) FROM income_records"),
            "risk_events": one("SELECT count(*) FROM risk_events"),
            "cooperatives": one("SELECT count(*) FROM cooperatives"),
            "big_cooperative": big,
            "big_paid_lines": one("SELECT count(*) FROM order_lines l JOIN orders o ON o.id = l.order_id "
                                  "WHERE o.cooperative_id = %s AND o.paid_at IS NOT NULL", big),
            "big_ledger_entries": one("SELECT count(*) FROM ledger_entries WHERE cooperative_id = %s", big),
            "database_size": one("SELECT pg_size_pretty(pg_database_size(current_database()))"),
        }
