"""CSRF on a page served from the anonymous page cache: the product page's "Add to cart".

The stored copy holds no token; the cache's middleware gives every visitor their own
token and the session cookie that holds it (marketplace/core/page_tokens.py). These
tests hold it to what Flask-WTF gives a visitor of a freshly rendered page: the token
works for its own visitor, and for no one else, without it or without their cookie."""
import gzip
import re

import pytest

from tests.conftest import fresh_context, main_html

EN = {"Accept-Language": "en"}


@pytest.fixture
def app(app_factory):
    """Page cache and CSRF protection on, as in production."""
    app = app_factory(PAGE_CACHE_SECONDS=60, WTF_CSRF_ENABLED=True)
    with fresh_context(app):
        yield app


@pytest.fixture
def coop(make):
    return make.coop(name="Helan Mountain Co-op")


@pytest.fixture
def product(make, coop):
    return make.product(coop, title="贺兰山葡萄酒 Helan wine", stock=20)


def token_of(page) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)


def cached_visit(app, product, headers=EN):
    """(client, page) of a new visitor served from the cache (someone rendered it before)."""
    app.test_client().get(f"/products/{product.id}", headers=headers)  # a first visitor renders and keeps it
    visitor = app.test_client()
    page = visitor.get(f"/products/{product.id}", headers=headers)
    assert page.headers["X-Page-Cache"] == "hit"
    return visitor, page


def add(client, product, token=None):
    data = {"product_id": product.id, "quantity": 1}
    if token is not None:
        data["csrf_token"] = token
    return client.post("/cart/add", data=data)


def cart_html(client):
    return main_html(client.get("/cart", headers=EN))


def test_a_visitor_served_from_the_cache_adds_to_the_cart_with_their_own_token(app, product):
    visitor, page = cached_visit(app, product)
    response = add(visitor, product, token_of(page))
    assert response.status_code == 302 and response.headers["Location"] == "/cart"
    assert "Helan wine" in cart_html(visitor)


def test_the_cached_page_s_add_to_cart_refuses_a_post_without_a_valid_token(app, product):
    visitor, page = cached_visit(app, product)
    other, other_page = cached_visit(app, product)
    assert token_of(page) != token_of(other_page)
    refused = [
        add(visitor, product),  # no token
        add(visitor, product, token_of(other_page)),  # another visitor's token
        add(visitor, product, token_of(page)[:-2] + "xx"),  # a forged signature
        add(app.test_client(), product, token_of(page)),  # the token without its session cookie
    ]
    assert [r.status_code for r in refused] == [400] * 4
    assert all("form expired" in r.get_data(as_text=True) for r in refused)
    for client in (visitor, other):
        assert "Helan wine" not in cart_html(client)


def test_the_cached_page_sets_the_same_session_cookie_as_a_rendered_one(app_factory, product):
    app = app_factory(PAGE_CACHE_SECONDS=60, SESSION_COOKIE_SECURE=True, SESSION_COOKIE_NAME="__Host-session")
    rendered = app.test_client().get(f"/products/{product.id}", headers=EN, base_url="https://localhost")
    cached = app.test_client().get(f"/products/{product.id}", headers=EN, base_url="https://localhost")
    assert (rendered.headers["X-Page-Cache"], cached.headers["X-Page-Cache"]) == ("miss", "hit")

    def attributes(response):
        (cookie,) = response.headers.getlist("Set-Cookie")
        name, rest = cookie.split("=", 1)
        return name, sorted(part.strip() for part in rest.split(";")[1:])

    assert attributes(cached) == attributes(rendered) == (
        "__Host-session", ["HttpOnly", "Path=/", "SameSite=Lax", "Secure"])
    assert "Cookie" in cached.headers["Vary"]


def test_a_gzip_visitor_gets_a_valid_gzip_page_whose_token_works(app, product):
    visitor, page = cached_visit(app, product, headers={**EN, "Accept-Encoding": "gzip"})
    assert page.headers["Content-Encoding"] == "gzip"
    html = gzip.decompress(page.get_data())  # checks the CRC and the length too
    assert int(page.headers["Content-Length"]) == len(page.get_data())
    token = re.search(rb'name="csrf_token" value="([^"]+)"', html).group(1).decode()
    assert b"Helan wine" in html and b"__page-cache-csrf-token__" not in html
    assert add(visitor, product, token).status_code == 302 and "Helan wine" in cart_html(visitor)


def test_a_visitor_who_accepts_no_gzip_gets_the_plain_page(app, product):
    _, page = cached_visit(app, product, headers={**EN, "Accept-Encoding": "br;q=1, gzip;q=0"})
    assert "Content-Encoding" not in page.headers and "Helan wine" in page.get_data(as_text=True)


def test_a_visitor_whose_session_holds_only_their_token_keeps_getting_cached_pages(app, make, coop, product):
    other = make.product(coop, title="Helan rosé")
    visitor, first = cached_visit(app, product)
    for path in (f"/products/{other.id}", "/products"):
        app.test_client().get(path, headers=EN)  # kept by a visitor without a session
        page = visitor.get(path, headers=EN)
        assert page.headers["X-Page-Cache"] == "hit" and not page.headers.getlist("Set-Cookie"), path
    page = visitor.get(f"/products/{other.id}", headers=EN)
    assert page.headers["X-Page-Cache"] == "hit"
    # its token belongs to the session they got with the first page
    assert add(visitor, other, token_of(page)).status_code == 302 and "Helan rosé" in cart_html(visitor)
    assert add(app.test_client(), other, token_of(page)).status_code == 400


def test_once_a_session_holds_more_than_a_token_its_pages_are_rendered_for_it(app, product):
    visitor, page = cached_visit(app, product)
    assert add(visitor, product, token_of(page)).status_code == 302  # the cart (and a flash) are in the session
    for path in ("/products", f"/products/{product.id}"):
        fresh = visitor.get(path, headers=EN)
        assert "X-Page-Cache" not in fresh.headers, path
    assert "Helan wine" in cart_html(visitor)


def test_a_forged_or_tampered_session_cookie_gets_no_cached_page(app, product):
    visitor, _ = cached_visit(app, product)
    name = app.config["SESSION_COOKIE_NAME"]
    value = visitor.get_cookie(name).value
    for forged in (value[:-3] + "abc", "eyJjc3JmX3Rva2VuIjoiYWJjIn0.forged.sig"):
        thief = app.test_client()
        thief.set_cookie(name, forged)
        page = thief.get(f"/products/{product.id}", headers=EN)
        assert page.status_code == 200 and "X-Page-Cache" not in page.headers
        assert add(thief, product, token_of(page)).status_code == 302  # Flask started a new session of its own
