"""The anonymous page cache: what visitors without a session get, and when it changes."""
import os
import re
import time
import uuid

import pytest
import redis

from marketplace.catalog.services import update_product
from marketplace.core.page_cache import PLACEHOLDER, MemoryBackend, Page, RedisBackend
from marketplace.extensions import db
from marketplace.orders.stock import take_stock
from tests.conftest import fresh_context, main_html, owner_of

#: the Redis tests keep their keys under a prefix of their own (and delete them)
REDIS_URL = os.environ.get("TEST_REDIS_URL") or "redis://127.0.0.1:6379/6"
EN = {"Accept-Language": "en"}
ZH = {"Accept-Language": "zh-CN"}


@pytest.fixture
def app(app_factory):
    """conftest's app with the page cache on (tests turn it off by default)."""
    app = app_factory(PAGE_CACHE_SECONDS=60)
    with fresh_context(app):
        yield app


@pytest.fixture
def coop(make):
    return make.coop(name="秦岭木耳合作社 Qinling Wood-ear Co-op")


@pytest.fixture
def wood_ear(make, coop):
    return make.product(coop, title="秦岭黑木耳 Black wood-ear", price_fen=3980, stock=50)


def without_token(html):
    """A page's <main> with the visitor's own CSRF token blanked out."""
    return re.sub(r'name="csrf_token" value="[^"]+"', 'name="csrf_token" value=""', html)


def visit(app, path, headers=EN):
    """A new anonymous visitor: a client with no cookies."""
    return app.test_client().get(path, headers=headers)


def stored_pages(app):
    return [page.body.decode() for page in app.extensions["page_cache"].backend._pages.values()]


def test_the_next_visitor_gets_the_same_page_without_a_query(app, wood_ear, count_queries):
    for path in ("/", "/products", "/products?q=木耳", f"/products/{wood_ear.id}",
                 f"/cooperatives/{wood_ear.cooperative_id}", "/cooperatives"):
        first = visit(app, path)
        assert first.headers["X-Page-Cache"] == "miss", path
        with count_queries() as q:
            again = visit(app, path)
        assert again.headers["X-Page-Cache"] == "hit" and q.count == 0, path
        assert without_token(main_html(again)) == without_token(main_html(first)), path
        assert "wood-ear" in main_html(again).lower(), path  # the product, or its cooperative
        assert again.headers["Content-Security-Policy"] == first.headers["Content-Security-Policy"]


def test_a_price_change_shows_on_the_next_request(app, coop, wood_ear):
    for path in ("/products", f"/products/{wood_ear.id}"):
        visit(app, path)
        assert "¥39.80" in main_html(visit(app, path))
    update_product(owner_of(coop), wood_ear, {"price_fen": 4590})
    db.session.commit()
    for path in ("/products", f"/products/{wood_ear.id}"):
        page = main_html(visit(app, path))
        assert "¥45.90" in page and "¥39.80" not in page, path


def test_stock_taken_by_a_checkout_shows_on_the_next_request(app, wood_ear):
    path = f"/products/{wood_ear.id}"
    visit(app, path)
    assert "50 in stock" in main_html(visit(app, path))
    assert take_stock(wood_ear.id, 8)  # the checkout's guarded UPDATE, not the unit of work
    db.session.commit()
    assert "42 in stock" in main_html(visit(app, path))


def test_a_change_rolled_back_keeps_the_cached_page(app, wood_ear):
    path = f"/products/{wood_ear.id}"
    visit(app, path)
    assert take_stock(wood_ear.id, 8)
    db.session.rollback()
    again = visit(app, path)
    assert again.headers["X-Page-Cache"] == "hit" and "50 in stock" in main_html(again)


def test_a_change_behind_the_sessions_back_shows_once_the_copy_expires(app_factory, app, wood_ear):
    short = app_factory(PAGE_CACHE_SECONDS=0.5)
    path = f"/products/{wood_ear.id}"
    visit(short, path)
    with db.engine.begin() as conn:  # raw SQL: no session event sees it
        conn.exec_driver_sql(f"UPDATE products SET price_fen = 4590 WHERE id = {wood_ear.id}")
    assert "¥39.80" in main_html(visit(short, path)), "the copy is still fresh"
    deadline = time.monotonic() + 10
    while "¥45.90" not in main_html(visit(short, path)):
        assert time.monotonic() < deadline, "the copy outlived PAGE_CACHE_SECONDS"
        time.sleep(0.05)


def test_logged_in_visitors_never_get_or_leave_a_cached_page(app, client, make, login, wood_ear):
    visit(app, "/products")
    assert visit(app, "/products").headers["X-Page-Cache"] == "hit"
    login(make.user(name="Li Hua"))
    mine = client.get("/products", headers=EN)
    assert "X-Page-Cache" not in mine.headers
    assert "Log out" in mine.get_data(as_text=True)
    assert client.get(f"/products/{wood_ear.id}", headers=EN).status_code == 200
    assert not any("Log out" in page for page in stored_pages(app))
    assert "Log out" not in visit(app, "/products").get_data(as_text=True)


def test_an_anonymous_page_starts_no_session_and_switches_language_by_a_get(app, wood_ear):
    page = visit(app, "/products?q=木耳")
    html = page.get_data(as_text=True)
    assert "Set-Cookie" not in page.headers and 'name="csrf_token"' not in html
    switch = re.search(r'<form class="lang" method="get" action="/products">(.*?)</form>', html, re.S).group(1)
    assert '<input type="hidden" name="q" value="木耳">' in switch and 'name="lang" value="zh_CN"' in switch
    visitor = app.test_client()
    answer = visitor.get("/products?q=木耳&lang=zh_CN", headers=EN)
    assert answer.status_code == 302 and answer.headers["Location"] == "/products?q=%E6%9C%A8%E8%80%B3"
    assert "件商品" in visitor.get(answer.headers["Location"], headers=EN).get_data(as_text=True)
    assert visitor.get("/products?lang=klingon", headers=EN).status_code == 302  # ignored, page unchanged


def test_members_switch_language_by_a_post_that_keeps_it_in_their_account(app, client, make, login):
    login(make.user())
    html = client.get("/products", headers=EN).get_data(as_text=True)
    switch = re.search(r'<form class="lang" method="post" action="/language">(.*?)</form>', html, re.S).group(1)
    assert 'name="csrf_token"' in switch and 'name="lang" value="zh_CN"' in switch


def test_a_visitor_with_a_session_is_served_fresh(app, wood_ear):
    visitor = app.test_client()
    visitor.get("/products?lang=zh_CN", headers=EN)  # the switch starts a session
    page = visitor.get("/products", headers=EN)
    assert "X-Page-Cache" not in page.headers and "件商品" in page.get_data(as_text=True)


def test_the_cached_product_page_keeps_no_token_and_every_visitor_gets_their_own(app, wood_ear):
    path = f"/products/{wood_ear.id}"
    tokens = []
    for _ in range(2):
        visitor = app.test_client()
        page = visitor.get(path, headers=EN)
        tokens.append(re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1))
        assert any(c.startswith("session=") for c in page.headers.getlist("Set-Cookie"))
        assert visitor.post("/cart/add", data={"csrf_token": tokens[-1], "product_id": wood_ear.id,
                                               "quantity": 2}).status_code == 302
        assert "秦岭黑木耳 Black wood-ear" in main_html(visitor.get("/cart"))
    assert page.headers["X-Page-Cache"] == "hit" and tokens[0] != tokens[1]
    (stored,) = stored_pages(app)
    assert PLACEHOLDER in stored and not any(token in stored for token in tokens)


def test_a_page_that_sets_a_cookie_is_not_kept(app, wood_ear):
    @app.after_request
    def tracking_cookie(response):
        response.set_cookie("campaign", "spring")
        return response

    for _ in range(2):
        page = visit(app, "/products")
        assert page.headers["X-Page-Cache"] == "miss" and "campaign=spring" in page.headers["Set-Cookie"]
    assert stored_pages(app) == []


def test_each_language_has_its_own_copy(app, wood_ear):
    assert "1 product" in visit(app, "/products", EN).get_data(as_text=True)
    chinese = visit(app, "/products", ZH)
    assert chinese.headers["X-Page-Cache"] == "miss" and "1 件商品" in chinese.get_data(as_text=True)
    assert visit(app, "/products", ZH).headers["X-Page-Cache"] == "hit"


def test_only_successful_pages_are_kept(app):
    for _ in range(2):
        assert visit(app, "/products/999").status_code == 404
    assert stored_pages(app) == []


def test_memory_backend_drops_the_least_recently_used_pages_beyond_its_size():
    backend = MemoryBackend(max_bytes=25)
    for key in "abc":
        backend.put(key, Page(0, [("Content-Type", "text/html")], b"x" * 10), seconds=60)
    assert backend.get("a")[0] is None and backend.get("c")[0].body == b"x" * 10
    assert backend.size == 20


@pytest.fixture
def shared_redis():
    """A Redis backend (TEST_REDIS_URL, else database 6) under a prefix of its own, as two processes would share it."""
    prefix = f"test-page-cache:{uuid.uuid4().hex}:"
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as err:
        pytest.skip(f"no Redis at {REDIS_URL}: {err}")
    yield lambda: RedisBackend(REDIS_URL, prefix=prefix)
    keys = list(client.scan_iter(prefix + "*"))
    if keys:
        client.delete(*keys)
    client.close()


def test_processes_sharing_redis_share_pages_and_invalidation(app_factory, app, coop, wood_ear, shared_redis):
    other = app_factory(PAGE_CACHE_SECONDS=60)  # stands for a second gunicorn process
    for one in (app, other):
        one.extensions["page_cache"].backend = shared_redis()
    path = f"/products/{wood_ear.id}"
    assert visit(app, path).headers["X-Page-Cache"] == "miss"
    served = visit(other, path)
    assert served.headers["X-Page-Cache"] == "hit" and "¥39.80" in main_html(served)
    update_product(owner_of(coop), wood_ear, {"price_fen": 4590})
    db.session.commit()  # committed in `app`: the generation in Redis moves on
    served = visit(other, path)
    assert served.headers["X-Page-Cache"] == "miss" and "¥45.90" in main_html(served)


def test_an_unreachable_redis_means_uncached_pages_not_errors(app, wood_ear):
    app.extensions["page_cache"].backend = RedisBackend("redis://127.0.0.1:1/6")
    for _ in range(2):
        page = visit(app, "/products")
        assert page.status_code == 200 and page.headers["X-Page-Cache"] == "miss"
        assert "Black wood-ear" in main_html(page)
