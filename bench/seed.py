"""Seed a benchmark database fast: schema from the real migrations, rows by COPY.

The schema is exactly what `flask db upgrade` builds (including the pg_trgm and
CJK n-gram indexes on products.search_text); only the rows are synthetic. Every cooperative
is verified and every product active, so catalog counts cover the whole table
(the worst case for the count query). About 20 % of products are surplus, 90 %
have a cover photo (rows in product_images; no files on disk), and search_text
is built exactly as Product.refresh_search_text builds it.
"""
import random
import tempfile
import time
import uuid
from datetime import date, datetime, timedelta, timezone

import psycopg
from psycopg import sql

from marketplace.core.regions import PROVINCES

from .vocab import EXTRAS, GIVEN, KINDS, QUALIFIERS, SURNAMES, SYLLABLES, TIP_RATE, TIPS, UNITS

NOW = datetime(2026, 11, 1, tzinfo=timezone.utc)
PRICE_RANGE = {"wine": (6800, 29800), "tea": (2800, 26800), "handicraft": (2800, 19800),
               "meat": (3800, 19800), "other": (2800, 16800)}


def libpq_url(url: str) -> str:
    """SQLAlchemy-style URL -> what psycopg/libpq accepts."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def ensure_database(url: str) -> None:
    """CREATE DATABASE if it does not exist yet (connects to the 'postgres' database)."""
    info = psycopg.conninfo.conninfo_to_dict(libpq_url(url))
    name = info.get("dbname")
    with psycopg.connect(**{**info, "dbname": "postgres"}, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def build_schema(url: str) -> None:
    """Drop everything in the public schema, then run the app's migrations."""
    from flask_migrate import upgrade
    from sqlalchemy import text

    from marketplace import create_app
    from marketplace.extensions import db

    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")
    app = create_app("test", SQLALCHEMY_DATABASE_URI=url, UPLOAD_FOLDER=tempfile.mkdtemp(prefix="bench-up-"))
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:  # the migrations really made the search indexes
            for name in ("ix_products_search_trgm", "ix_products_search_cjk"):
                assert conn.scalar(text("SELECT count(*) FROM pg_indexes WHERE indexname = :n"), {"n": name}), name
        db.engine.dispose()


def _name(rng, parts=2):
    picks = [rng.choice(SYLLABLES) for _ in range(parts)]
    return "".join(z for z, _ in picks), "".join(e for _, e in picks).capitalize()


def _cooperatives(rng, count):
    """Yield (coop row, owner row, membership row, place) for each cooperative."""
    provinces = list(PROVINCES.items())
    for i in range(1, count + 1):
        prov_en, prov_zh = rng.choice(provinces)
        county_zh, county_en = _name(rng)
        village_zh, village_en = _name(rng)
        spec = rng.choices(KINDS, weights=[k[0] for k in KINDS])[0]
        created = NOW - timedelta(days=rng.randint(200, 900))
        person = rng.choice(SURNAMES) + rng.choice(GIVEN)
        households = rng.randint(20, 400)
        story = (f"{village_zh}村位于{prov_zh}{county_zh}县，合作社带动 {households} 户脱贫户生产{spec[1]}。\n\n"
                 f"{village_en} village in {county_en} county, {prov_en}: {households} formerly poor "
                 f"households grow {spec[2]} here.")
        coop = dict(id=i, name=f"{county_zh}县{village_zh}村{spec[1]}专业合作社 {county_en} {village_en} "
                               f"{spec[2]} Cooperative"[:120],
                    province=prov_en, county=f"{county_zh}县 {county_en}", village=f"{village_zh}村 {village_en}",
                    story=story, contact_name=person,
                    contact_phone=f"0{rng.randint(100, 999)}-{rng.randint(1000000, 9999999)}",
                    registration_no=f"93{i:016d}", logo_key=None, status="verified", status_reason=None,
                    created_at=created, verified_at=created + timedelta(days=rng.randint(1, 20)))
        owner = dict(id=i, email=f"owner{i}@bench.example", display_name=person,
                     password_hash="!bench-account-no-login", role="buyer", locale=None, active=True,
                     session_key=uuid.UUID(int=rng.getrandbits(128)).hex, failed_logins=0, locked_until=None,
                     created_at=created, last_login_at=None)
        membership = dict(id=i, user_id=i, cooperative_id=i, role="owner", created_at=created)
        place = (county_zh, county_en, prov_zh, prov_en, created)
        yield coop, owner, membership, place


def _product(rng, pid, coop_id, place, created):
    """One product row and its image rows."""
    county_zh, county_en, prov_zh, prov_en, _ = place
    _w, kind_zh, kind_en, category, blurb_zh, blurb_en = rng.choices(KINDS, weights=WEIGHTS)[0]
    qual_zh, qual_en = rng.choice(QUALIFIERS)
    title = f"{county_zh}{qual_zh}{kind_zh} {county_en} {(qual_en + ' ') if qual_en else ''}{kind_en}"[:120]
    origin = f"{prov_zh}{county_zh} {county_en}, {prov_en}"
    extras = rng.sample(EXTRAS, rng.randint(2, 4))
    if rng.random() < TIP_RATE:
        extras.append(rng.choice(TIPS))
    fill = dict(n=rng.randint(20, 400), t=rng.randint(2, 40), p=rng.randint(5, 30), h=rng.randint(300, 3500))
    description = (f"{blurb_zh}。" + "".join(z.format(**fill) for z, _ in extras) + "\n"
                   + blurb_en[0].upper() + blurb_en[1:] + ". " + " ".join(e.format(**fill) for _, e in extras))
    search_text = " ".join([title, origin, description]).lower()  # == Product.refresh_search_text
    lo, hi = PRICE_RANGE.get(category, (900, 12800))
    price = rng.randrange(lo, hi, 10)
    stock = 0 if rng.random() < 0.05 else rng.randint(1, 500)
    limit = rng.randint(1, 10) if rng.random() < 0.1 else None
    harvest = (date(2026, 10, 31) - timedelta(days=rng.randint(10, 360))) if rng.random() < 0.8 else None
    shelf = rng.choice([180, 365, 730, None])
    cover = uuid.UUID(int=rng.getrandbits(128)).hex if rng.random() < 0.9 else None
    row = dict(id=pid, cooperative_id=coop_id, title=title, description=description, category=category,
               origin=origin, unit=rng.choice(UNITS[category]), price_fen=price, currency="CNY", stock=stock,
               per_buyer_limit=limit, harvest_date=harvest, shelf_life_days=shelf, status="active",
               surplus=rng.random() < 0.2, search_text=search_text, cover_key=cover, created_at=created,
               updated_at=created)
    images = []
    if cover:
        for pos in range(rng.randint(1, 3)):
            key = cover if pos == 0 else uuid.UUID(int=rng.getrandbits(128)).hex
            images.append(dict(product_id=pid, position=pos, key=key, width=900, height=900, alt=title,
                               created_at=created))
    return row, images


WEIGHTS = [k[0] for k in KINDS]
TABLES = ("users", "cooperatives", "memberships", "products", "product_images")


def _copy(cur, table, rows):
    """COPY dict rows into `table`, sending only the keys the migrated table has (the
    schema is still evolving); a NOT NULL column without a default that we do not
    fill is an error worth stopping for."""
    rows = iter(rows)
    first = next(rows, None)
    if first is None:
        return
    table_cols = cur.execute(
        "SELECT column_name, is_nullable = 'NO' AND column_default IS NULL FROM information_schema.columns"
        " WHERE table_schema = 'public' AND table_name = %s", (table,)).fetchall()
    names = [c for c in first if c in {n for n, _ in table_cols}]
    missing = [n for n, required in table_cols if required and n not in names]
    if missing:
        raise RuntimeError(f"bench seed does not fill {table}.{', '.join(missing)}: update bench/seed.py")
    stmt = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, names)))
    with cur.copy(stmt) as copy:
        copy.write_row([first[n] for n in names])
        for row in rows:
            copy.write_row([row[n] for n in names])


def _secondary_indexes(cur, tables):
    """CREATE INDEX statements of the non-constraint indexes (dropped during COPY, rebuilt after)."""
    return cur.execute(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = 'public' AND i.tablename = ANY(%s)"
        " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)", (list(tables),)).fetchall()


def seed(url, products=100_000, cooperatives=2_000, random_seed=2026, log=print) -> dict:
    """Rebuild the database at `url` and fill it. Returns counts and search hit shares."""
    started = time.perf_counter()
    ensure_database(url)
    build_schema(url)
    rng = random.Random(random_seed)
    coops = list(_cooperatives(rng, cooperatives))
    # Uneven shop sizes, like real ones: a few cooperatives list hundreds of goods.
    sizes = [rng.lognormvariate(0, 1) for _ in coops]
    listings = []  # (created_at, cooperative index); ids then follow creation time
    for idx in rng.choices(range(cooperatives), weights=sizes, k=products):
        since = coops[idx][3][4]
        listings.append((since + (NOW - since) * rng.random(), idx))
    listings.sort()
    with psycopg.connect(libpq_url(url)) as conn, conn.cursor() as cur:
        indexes = _secondary_indexes(cur, ["products", "product_images"])
        for name, _ in indexes:
            cur.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
        _copy(cur, "users", (c[1] for c in coops))
        _copy(cur, "cooperatives", (c[0] for c in coops))
        _copy(cur, "memberships", (c[2] for c in coops))
        image_rows = []

        def product_rows():
            for pid, (when, coop_idx) in enumerate(listings, start=1):
                row, images = _product(rng, pid, coop_idx + 1, coops[coop_idx][3], when)
                for img in images:
                    image_rows.append({"id": len(image_rows) + 1, **img})
                yield row

        _copy(cur, "products", product_rows())
        _copy(cur, "product_images", image_rows)
        log(f"  copied rows in {time.perf_counter() - started:.1f}s; rebuilding {len(indexes)} indexes")
        for _, indexdef in indexes:
            cur.execute(indexdef)
        for table in TABLES:
            cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        conn.commit()
        conn.autocommit = True
        cur.execute("VACUUM ANALYZE")
    stats = describe(url)
    stats["seconds"] = time.perf_counter() - started
    log(f"  seeded {products:,} products ({stats['size']}), {cooperatives:,} cooperatives, {stats['images']:,} "
        f"images in {stats['seconds']:.1f}s; '木耳' hits {stats['share_木耳']:.2%}, 'lily' hits "
        f"{stats['share_lily']:.2%}, surplus {stats['surplus_share']:.1%}")
    return stats


def describe(url) -> dict:
    """Counts, the share of products each benchmark search finds, and table size."""
    with psycopg.connect(libpq_url(url)) as conn:
        one = lambda q, *a: conn.execute(q, a).fetchone()[0]  # noqa: E731
        stats = {"products": one("SELECT count(*) FROM products"), "images": one("SELECT count(*) FROM product_images"),
                 "cooperatives": one("SELECT count(*) FROM cooperatives")}
        for term in ("木耳", "lily"):
            stats[f"share_{term}"] = one("SELECT count(*) FROM products WHERE search_text LIKE %s",
                                         f"%{term}%") / max(stats["products"], 1)
        stats["surplus_share"] = float(one("SELECT avg(surplus::int) FROM products") or 0)
        stats["size"] = one("SELECT pg_size_pretty(pg_total_relation_size('products'))")
    return stats
