"""The live benchmark's data: live shows (each of its own verified cooperative and host,
with two products in its lineup) and buyer accounts with API tokens for the flash sales.

The schema is built by the app's migrations (bench/seed.py); the rows are made by the
app's own services, so the show, its quotas and the tokens are exactly what a host and
buyers would have. The flash-sale product's stock equals its live quota: once the
quota is sold, a buyer gets 409 (no regular-price units to fall back on), so every unit
sold in the sale is a live-quota unit.
"""
import tempfile
from dataclasses import dataclass
from datetime import timedelta

from .seed import build_schema, ensure_database

PASSWORD = "bench-live-2026-wood-ear"
LIVE_PRICE_FEN = 2990


@dataclass
class LiveShow:
    show_id: int
    host_token: str
    flash_product_id: int
    other_product_id: int


@dataclass
class LiveWorld:
    shows: list[LiveShow]
    buyer_tokens: list[str]
    quota: int
    live_price_fen: int = LIVE_PRICE_FEN


def seed(url: str, shows: int, buyers: int, quota: int) -> LiveWorld:
    """(Re)build the database at `url` and fill it; returns what the benchmark needs."""
    ensure_database(url)
    build_schema(url)
    from marketplace import create_app
    from marketplace.extensions import db

    app = create_app("test", SQLALCHEMY_DATABASE_URI=url, UPLOAD_FOLDER=tempfile.mkdtemp(prefix="bench-up-"))
    with app.app_context(), app.test_request_context():
        from marketplace.auth.models import Role
        from marketplace.auth.services import create_user

        staff = create_user("staff@live.bench.example", PASSWORD, "Programme staff", role=Role.staff)
        made = [_show(staff, n, quota) for n in range(shows)]
        tokens = [_buyer(n) for n in range(buyers)]
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return LiveWorld(shows=made, buyer_tokens=tokens, quota=quota)


def _show(staff, n, quota) -> LiveShow:
    """A verified cooperative whose host is live now with a flash-sale item and one more."""
    from marketplace.auth.services import create_user, issue_api_token
    from marketplace.catalog.services import create_product
    from marketplace.coops.services import apply_for_cooperative, decide
    from marketplace.core.db import utcnow
    from marketplace.livestream import services

    host = create_user(f"host{n}@live.bench.example", PASSWORD, f"Live host {n}")
    coop = apply_for_cooperative(host, dict(name=f"Jinmi wood-ear cooperative {n}", province="Shaanxi",
                                            county="Zhashui", village="Jinmi", registration_no=f"BENCHLIVE{n:04d}",
                                            story="We dry wood-ear fungus on racks."))
    decide(staff, coop, "verify")
    flash = create_product(host, coop, _product("Black wood-ear, flash sale", 3980, quota))
    other = create_product(host, coop, _product("Shiitake", 2000, 500))
    now = utcnow()
    show = services.schedule(host, coop, {
        "title": f"Wood-ear harvest live {n}", "stream_url": "https://example.com/live/stream.m3u8",
        "starts_at": now + timedelta(minutes=5), "ends_at": now + timedelta(hours=6),
        "description": "Benchmark show"}, [
        {"product_id": flash.id, "live_price_fen": LIVE_PRICE_FEN, "quota": quota, "per_buyer_limit": 1},
        {"product_id": other.id, "live_price_fen": 1500, "quota": 400}])
    services.start(host, show)
    return LiveShow(show_id=show.id, host_token=issue_api_token(host)[0], flash_product_id=flash.id,
                    other_product_id=other.id)


def _buyer(n) -> str:
    from marketplace.auth.services import create_user, issue_api_token

    return issue_api_token(create_user(f"buyer{n}@live.bench.example", PASSWORD, f"Buyer {n}"))[0]


def _product(title, price_fen, stock):
    return dict(title=title, category="fungi", unit="500 g bag", price_fen=price_fen, stock=stock, status="active",
                description="Sun-dried on racks in Jinmi village.", origin="Shaanxi")


def sold_in_database(url: str, show_id: int, product_id: int) -> dict:
    """What the database says the sale sold: the lineup row's counter, the units on
    live-price order lines not cancelled, and the product's stock left. The same SQL on
    PostgreSQL and SQLite (SQLAlchemy, not psycopg, so a SQLite run reads its own file)."""
    row = query(url, "SELECT li.quota, li.sold, p.stock, "
                "(SELECT coalesce(sum(ol.quantity), 0) FROM order_lines ol JOIN orders o ON o.id = ol.order_id "
                " WHERE ol.livestream_id = li.show_id AND ol.product_id = li.product_id AND o.status <> 'cancelled'), "
                "(SELECT count(*) FROM order_lines ol "
                " WHERE ol.product_id = li.product_id AND ol.livestream_id IS NULL) "
                "FROM lineup_items li JOIN products p ON p.id = li.product_id "
                "WHERE li.show_id = :show AND li.product_id = :product", show=show_id, product=product_id)[0]
    quota, sold, stock, live_units, regular_lines = row
    return {"quota": quota, "sold_counter": sold, "live_units": int(live_units), "stock_left": stock,
            "regular_price_lines": regular_lines}


def pin_event_ids(url: str, show_id: int) -> list[int]:
    """The numbers of the show's stored pin events, in order."""
    return [r[0] for r in query(url, "SELECT seq FROM show_events WHERE show_id = :show AND type = 'pin' "
                                     "ORDER BY seq", show=show_id)]


def query(url: str, sql: str, **params) -> list[tuple]:
    """Rows of one read on the database at `url` (PostgreSQL or SQLite), on a connection of its own."""
    from sqlalchemy import create_engine, text

    from .sqlite_copy import engine_url

    engine = create_engine(engine_url(url))
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql), params)]
    finally:
        engine.dispose()
