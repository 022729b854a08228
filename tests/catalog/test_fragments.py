"""Rendered pieces kept between requests (catalog.fragments, core.template_speed) and the
kept search hits (catalog.search): a visitor never sees a stale price, title or stock,
whatever changed the row, and never another visitor's or language's piece."""
import re

import pytest

from marketplace.catalog import search
from marketplace.catalog.services import update_product
from marketplace.extensions import db
from tests.conftest import main_html, owner_of

EN = {"Accept-Language": "en"}


@pytest.fixture
def coop(make):
    return make.coop(name="Helan Mountain Winery")


@pytest.fixture
def wine(make, coop):
    return make.product(coop, title="Helan red 2024", price_fen=12800, stock=9, unit="750 ml bottle")


def behind_the_sessions_back(sql):
    """A change no session event sees (another process, a script, psql): only the
    content of what the pages show can tell them it changed."""
    with db.engine.begin() as conn:
        conn.exec_driver_sql(sql)


def page(client, path):
    response = client.get(path, headers=EN)
    assert response.status_code == 200, path
    return main_html(response)


def test_a_kept_card_never_shows_a_stale_price_after_a_change(client, coop, wine):
    assert "¥128.00" in page(client, "/products")
    update_product(owner_of(coop), wine, {"price_fen": 9900})
    db.session.commit()
    html = page(client, "/products")
    assert "¥99.00" in html and "¥128.00" not in html


@pytest.mark.parametrize("change, shown, gone", [
    ("UPDATE products SET price_fen = 4590", "¥45.90", "¥128.00"),
    ("UPDATE products SET title = 'Helan white 2025'", "Helan white 2025", "Helan red 2024"),
    ("UPDATE products SET unit = '1.5 l magnum'", "1.5 l magnum", "750 ml bottle"),
    ("UPDATE products SET stock = 0", "Sold out", None),
    ("UPDATE products SET surplus = true", 'class="tag">Surplus', None),
    ("UPDATE cooperatives SET province = 'Gansu'", "Gansu", None),  # (the filter's list is kept a minute)
])
def test_every_field_a_card_shows_is_fresh_on_listing_pages(client, coop, wine, change, shown, gone):
    pages = ("/products", "/", "/products?q=helan")
    for path in pages:
        page(client, path)  # rendered and kept
    behind_the_sessions_back(change)
    for path in pages:
        html = page(client, path)
        assert shown in html, (path, change)
        assert gone is None or gone not in html, (path, change)


def test_more_from_the_cooperative_cards_are_fresh(client, make, coop, wine):
    mate = make.product(coop, title="Helan rosé", price_fen=6800)
    path = f"/products/{mate.id}"
    assert "¥128.00" in page(client, path)
    behind_the_sessions_back(f"UPDATE products SET price_fen = 13800 WHERE id = {wine.id}")
    html = page(client, path)
    assert "¥138.00" in html and "¥128.00" not in html


def test_the_product_page_shows_a_change_behind_the_sessions_back_at_once(client, wine):
    path = f"/products/{wine.id}"
    assert "9 in stock" in page(client, path)
    behind_the_sessions_back(f"UPDATE products SET stock = 3, description = 'Oak, ten months' WHERE id = {wine.id}")
    html = page(client, path)
    assert "3 in stock" in html and "Oak, ten months" in html and "9 in stock" not in html
    behind_the_sessions_back(f"UPDATE products SET stock = 0 WHERE id = {wine.id}")
    html = page(client, path)
    assert "Sold out" in html and 'name="quantity"' not in html  # the live form follows the stock too


def test_each_visitor_gets_their_own_token_and_search_box(app, wine):
    tokens = []
    for _ in range(2):
        visitor = app.test_client()
        html = visitor.get(f"/products/{wine.id}", headers=EN).get_data(as_text=True)
        tokens.append(re.search(r'name="csrf_token" value="([^"]+)"', html).group(1))
    assert tokens[0] != tokens[1]
    client = app.test_client()
    assert 'name="q" value="helan"' in client.get("/products?q=helan", headers=EN).get_data(as_text=True)
    assert 'name="q" value="wine"' in client.get("/products?q=wine", headers=EN).get_data(as_text=True)
    assert 'name="q" value=""' in client.get(f"/products/{wine.id}?q=wine", headers=EN).get_data(as_text=True)


def test_pieces_are_kept_per_language_and_per_url_prefix(app, wine):
    client = app.test_client()
    english = client.get("/products", headers=EN).get_data(as_text=True)
    chinese = client.get("/products", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "All goods" in english and "1 product" in english and "Shaanxi" in english
    assert "全部商品" in chinese and "1 件商品" in chinese and "陕西" in chinese and "All goods" not in chinese
    # behind a proxy that mounts the site under a prefix, every link carries it
    prefixed = client.get("/products", headers=EN, base_url="http://localhost/shop/").get_data(as_text=True)
    assert f'href="/shop/products/{wine.id}"' in prefixed and 'href="/shop/cooperatives"' in prefixed
    assert f'href="/products/{wine.id}"' not in prefixed
    again = client.get("/products", headers=EN).get_data(as_text=True)
    assert f'href="/products/{wine.id}"' in again and "/shop/" not in again


def test_members_still_see_their_own_links_around_kept_pieces(client, make, login, coop, wine):
    page(client, "/products")  # the shared pieces are kept
    login(owner_of(coop))
    html = client.get("/products", headers=EN).get_data(as_text=True)
    assert "Log out" in html and "My cooperative" in html and "Helan red 2024" in html


def titles(html):
    return re.findall(r'<span class="card-title">([^<]+)</span>', html)


def test_kept_search_hits_page_the_same_as_ranking_each_page(client, make, coop, monkeypatch):
    for i in range(10):
        make.product(coop, title=f"Goji {i}" if i % 3 else f"Dried fruit {i}",
                     description="goji berries from Zhongning", surplus=i % 4 == 0)
    kept = [titles(page(client, f"/products?q=goji&per_page=3&page={n}")) for n in range(1, 5)]
    monkeypatch.setattr(search, "KEPT_HITS", 4)  # pages 2.. now rank their own slice
    ranked = [titles(page(client, f"/products?q=goji&per_page=3&page={n}")) for n in range(1, 5)]
    assert kept == ranked and sum(map(len, kept)) == 10
    assert kept[0][0].startswith("Goji")  # a hit in the title ranks first
    assert "10 products" in page(client, "/products?q=goji&per_page=3&page=9")  # past the end


def test_kept_search_hits_show_current_prices_and_hide_what_was_taken_off_sale(client, make, coop, wine):
    assert "¥128.00" in page(client, "/products?q=helan")
    behind_the_sessions_back(f"UPDATE products SET price_fen = 15800 WHERE id = {wine.id}")
    assert "¥158.00" in page(client, "/products?q=helan")
    behind_the_sessions_back(f"UPDATE products SET status = 'archived' WHERE id = {wine.id}")
    assert "Helan red 2024" not in page(client, "/products?q=helan")


def test_a_new_product_is_found_at_once_by_a_search_already_kept(client, make, coop, wine):
    assert titles(page(client, "/products?q=helan")) == ["Helan red 2024"]
    make.product(coop, title="Helan white 2025")  # the commit empties this process's kept hits
    assert sorted(titles(page(client, "/products?q=helan"))) == ["Helan red 2024", "Helan white 2025"]


def test_product_page_queries_do_not_grow_with_photos_or_other_goods(client, make, coop, count_queries):
    from tests.conftest import jpeg_bytes
    from marketplace.catalog.services import add_image

    for _ in range(5):
        make.product(coop)
    counts = []
    for n in (1, 4):
        product = make.product(coop, title=f"Wolfberry {n}")
        for i in range(n):
            add_image(owner_of(coop), product, jpeg_bytes(color=(10 * i, 80, 40)))
        db.session.commit()
        path = f"/products/{product.id}"  # (reading the id after the commit reloads the product)
        with count_queries() as q:
            html = page(client, path)
        assert html.count('class="card"') == 4 and html.count("<img") >= n
        counts.append(sum(1 for sql in q.statements if sql.strip().upper() != "BEGIN"))
    assert counts == [1, 1], counts  # one statement (catalog.product_page), whatever it holds


def test_numbered_pages_seen_before_continue_from_the_row_before_them(client, make, coop):
    for i in range(12):
        make.product(coop, title=f"Jujube {i:02d}", price_fen=1000 + 100 * (i % 5))
    path = "/products?sort=price_asc&per_page=5&page={}"
    before = [titles(page(client, path.format(n))) for n in (1, 2, 3)]
    again = [titles(page(client, path.format(n))) for n in (1, 2, 3)]
    assert before == again and sum(map(len, before)) == 12 and len(set(sum(before, []))) == 12
    make.product(coop, title="Cheapest jujube", price_fen=500)  # the commit empties the kept page starts
    now = [titles(page(client, path.format(n))) for n in (1, 2, 3)]
    assert now[0][0] == "Cheapest jujube" and now[1][0] == before[0][-1] and now[2][0] == before[1][-1]
