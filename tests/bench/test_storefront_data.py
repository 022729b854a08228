"""The storefront benchmark asks the same questions of PostgreSQL and SQLite (bench/storefront_data.py):
which products to request and where page N's "Next" link points. Run on the test database, SQLite
by default, PostgreSQL with TEST_DATABASE_URL."""
import hashlib
import re
from html import unescape

from bench.storefront_data import next_link_path, sample_products


def _catalog(make, products=5):
    coop = make.coop()
    made = [make.product(coop, surplus=i % 2 == 0) for i in range(products)]
    hidden = make.product(coop, status="draft")  # not visible: never a benchmark target
    return made, hidden


def test_next_link_path_is_the_link_the_catalog_renders(app_factory, make, _schema):
    app = app_factory(CATALOG_PAGE_SIZE=2)
    with app.app_context():
        _catalog(make)
        page1 = app.test_client().get("/products").get_data(as_text=True)
        page2 = app.test_client().get("/products?page=2").get_data(as_text=True)
    rendered = {unescape(h) for h in re.findall(r'href="(/products\?[^"]*after=[^"]*)"', page1)}
    expected = next_link_path(_schema, page=2, per_page=2)
    assert any(_same_query(expected, h) for h in rendered), (expected, rendered)
    assert next_link_path(_schema, page=3, per_page=2) != expected and "after=" in page2


def _same_query(a, b):
    parse = lambda u: sorted(u.split("?", 1)[1].split("&"))  # noqa: E731
    return parse(a) == parse(b)


def test_sample_products_are_visible_and_spread_by_md5(app_factory, make, _schema):
    app = app_factory()
    with app.app_context():
        made, hidden = _catalog(make)
        visible, hidden_id = [p.id for p in made], hidden.id
    picked = sample_products(_schema, n=3)
    assert hidden_id not in sample_products(_schema, n=100)
    assert picked == sorted(visible, key=lambda i: hashlib.md5(str(i).encode()).hexdigest())[:3]
