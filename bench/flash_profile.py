"""Where a checkout's time goes: the same requests as the sale, run in-process one
after another (no concurrency, no HTTP), counting SQL statements and the CPU time
this process spends per request, beside the bare page measured the same way.

CPU time, unlike wall time, hardly depends on what else runs on a shared machine,
so these figures explain the load test's ratio: a request that costs k times the
bare page's CPU cannot run faster than 1/k of its rate on saturated cores. (The
PostgreSQL server's own CPU is not in these figures; it adds to the checkout's.)
"""
import logging
import os
import re
import statistics
import time

from sqlalchemy import event

from . import flash_data

ADDRESS = {"name": "李伟 Li Wei", "phone": "13800138000", "province": "Beijing", "city": "Beijing",
           "address": "朝阳路 12 号 3 栋 12 Chaoyang Road, Building 3"}


def _label(statement: str) -> str:
    """'INSERT INTO orders ...' -> 'INSERT orders'; 'SELECT ... FROM api_tokens ...' -> 'SELECT api_tokens'."""
    words = statement.split()
    verb = words[0].upper() if words else "?"
    table = re.search(r"\b(?:FROM|INTO|UPDATE)\s+(\w+)", statement, re.I)
    return f"{verb} {table.group(1) if table else ''}".strip()


class _Counter:
    def __init__(self, engine):
        self.statements = []
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, conn, cursor, statement, *args):
        self.statements.append(statement)


def _cpu_per_call(call, n, batches=3) -> float:
    """Median over batches of the CPU milliseconds per call."""
    per = []
    for b in range(batches):
        start = time.process_time()
        for i in range(n):
            call(b * n + i)
        per.append((time.process_time() - start) * 1000 / n)
    return statistics.median(per)


def profile(url, tokens, n=20) -> dict:
    """{"won"|"lost"|"bare": {"cpu_ms", "statements", "labels"}}: a successful checkout,
    one refused because the product is sold out, and the bare page."""
    os.environ.update(MARKETPLACE_CONFIG="production", SECRET_KEY="bench-flash", DATABASE_URL=url)
    logging.disable(logging.INFO)  # the request logs would flood the terminal (their formatting is not counted)
    try:
        return {**_profile_app(url, tokens, n), "bare": _profile_bare(url, n)}
    finally:
        logging.disable(logging.NOTSET)


def _profile_app(url, tokens, n) -> dict:
    from marketplace.extensions import db

    from .flash_app import app

    with app.app_context():
        counter = _Counter(db.engine)
    client = app.test_client()
    plenty = flash_data.new_flash_product(url, 10 * n * 4, "profile")
    sold_out = flash_data.new_flash_product(url, 0, "profile, sold out")

    def checkout(product_id):
        net = 201 if product_id == plenty else 202

        def call(i):
            # a buyer address of its own per call, as in the load test (the per-address rate limit)
            headers = {"Authorization": f"Bearer {tokens[i % len(tokens)]}",
                       "X-Forwarded-For": f"10.{net}.{i >> 8 & 255}.{i & 255}"}
            response = client.post("/api/v1/checkouts", headers=headers,
                                   json={"items": [{"product_id": product_id, "quantity": 1}],
                                         "shipping_address": ADDRESS})
            assert response.status_code == (201 if product_id == plenty else 409), response.get_data()[:300]
        return call

    out = {}
    for name, product_id in (("won", plenty), ("lost", sold_out)):
        call = checkout(product_id)
        call(0)  # warm: compiled statements, caches
        counter.statements.clear()
        call(1)
        labels = [_label(s) for s in counter.statements]
        out[name] = {"cpu_ms": _cpu_per_call(call, n), "statements": len(labels), "labels": labels}
    return out


def _profile_bare(url, n) -> dict:
    from .bare_app import create_app

    app = create_app(url)
    client = app.test_client()
    client.get("/bare")
    return {"cpu_ms": _cpu_per_call(lambda i: client.get("/bare"), n * 5), "statements": 1, "labels": ["SELECT products"]}
