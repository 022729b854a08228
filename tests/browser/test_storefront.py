"""The storefront in a real browser (Chromium, phone-sized) against the served app, CSRF on."""
import re
import threading

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select
from werkzeug.serving import make_server

from marketplace.auth.models import User
from marketplace.catalog.models import Product, ProductImage
from marketplace.catalog.services import update_product
from marketplace.extensions import db, limiter
from tests.conftest import PASSWORD, Factory, _empty_tables, jpeg_bytes, owner_of

pytestmark = pytest.mark.browser


def member_of_verified_coop(live_server):
    """A verified cooperative and its owner, committed; returns (owner email, coop id)."""
    with live_server.app_context():
        coop = Factory().coop(name="柞水木耳合作社 Zhashui Wood-ear Co-op")
        return owner_of(coop).email, coop.id


def product_count(live_server, coop_id):
    with live_server.app_context():
        return db.session.scalar(select(func.count()).select_from(Product).where(Product.cooperative_id == coop_id))


def log_in(page, live_url, email):
    page.goto(live_url + "/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.locator("main").get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def fill_product_form(page, *, title, price, stock="12"):
    page.get_by_label("Title", exact=True).fill(title)
    page.get_by_label("Category", exact=True).select_option("fungi")
    page.get_by_label("Unit (e.g. 500 g bag)").fill("250 g bag")
    page.get_by_label("Price in yuan").fill(price)
    page.get_by_label("Stock (units)").fill(stock)
    page.get_by_label("Status", exact=True).select_option(label="On sale")


def test_visitor_searches_opens_a_product_and_switches_to_chinese(page, live_server, live_url, shot):
    with live_server.app_context():
        make = Factory()
        coop = make.coop()
        make.product(coop, title="秦岭黑木耳 Black wood-ear", price_fen=3980)
        make.product(coop, title="大同黄花菜 Datong Day Lily", category="dried_vegetables", price_fen=4580)

    page.goto(live_url + "/")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    shot("home")

    box = page.get_by_label("Search goods")
    expect(box).to_have_id("site-q")
    box.press_sequentially("木耳")
    page.get_by_role("search").get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(r"/products\?q="))
    main = page.locator("main")
    hit = main.get_by_role("link", name="秦岭黑木耳 Black wood-ear")
    expect(hit).to_be_visible()
    expect(main).not_to_contain_text("Datong Day Lily")
    shot("results")

    hit.click()
    expect(page).to_have_url(re.compile(r"/products/\d+$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("秦岭黑木耳 Black wood-ear")
    expect(page.locator(".buybox .price")).to_contain_text("¥39.80")
    shot("product")

    product_url = page.url
    page.get_by_role("button", name="简体中文").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page).to_have_url(product_url)
    shot("chinese")
    expect(page.locator("header nav").get_by_role("link", name="全部商品", exact=True)).to_be_visible()


def test_member_adds_a_product_with_a_photo(page, live_server, live_url, shot, tmp_path):
    email, coop_id = member_of_verified_coop(live_server)
    photo = tmp_path / "wood-ear.jpg"
    photo.write_bytes(jpeg_bytes(size=(800, 600)))

    log_in(page, live_url, email)
    shot("logged-in")
    page.get_by_role("link", name="My cooperative").click()
    page.get_by_role("link", name="Add a product").click()
    expect(page).to_have_url(live_url + "/my/products/new")
    fill_product_form(page, title="柞水黑木耳 Zhashui black fungus", price="25.50")
    page.locator("input[type=file][name=photo]").set_input_files(str(photo))
    shot("form-filled")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("Product saved.")
    shot("saved")

    page.get_by_role("link", name="See the product page").click()
    expect(page).to_have_url(re.compile(r"/products/\d+$"))
    expect(page.locator(".buybox .price")).to_contain_text("¥25.50")
    img = page.locator(".gallery img").first
    expect(img).to_have_attribute("src", re.compile(r"-medium\.webp$"))
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=img.element_handle())
    shot("product-page")

    with live_server.app_context():
        product = db.session.scalars(select(Product).where(Product.cooperative_id == coop_id)).one()
        assert (product.price_fen, product.stock, product.status.value) == (2550, 12, "active")
        assert db.session.scalar(select(func.count()).select_from(ProductImage)
                                 .where(ProductImage.product_id == product.id)) == 1


def test_negative_price_shows_the_form_again_with_the_error_beside_the_price(page, live_server, live_url, shot):
    email, coop_id = member_of_verified_coop(live_server)

    log_in(page, live_url, email)
    page.goto(live_url + "/my/products/new")
    fill_product_form(page, title="Negative price fungus", price="-3")
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.get_by_role("button", name="Save").click()
    assert posted.value.status == 422
    assert product_count(live_server, coop_id) == 0
    shot("rejected")

    expect(page).to_have_url(live_url + "/my/products/new")
    price = page.get_by_label("Price in yuan")
    expect(price).to_have_value("-3")
    expect(page.get_by_label("Title", exact=True)).to_have_value("Negative price fungus")
    price_field = page.locator(".field", has=price)
    expect(price_field).to_have_class(re.compile(r"\bhas-error\b"))
    expect(price_field.locator(".error")).to_be_visible()
    expect(price).to_have_attribute("aria-invalid", "true")


@pytest.fixture
def cached_live_server(app_factory):
    """Like conftest's live_server, with the anonymous page cache on as in production."""
    app = app_factory(WTF_CSRF_ENABLED=True, PAGE_CACHE_SECONDS=60)
    with app.app_context():
        _empty_tables()
        limiter.reset()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    app.config["LIVE_URL"] = f"http://127.0.0.1:{server.server_port}"
    yield app
    server.shutdown()
    thread.join(timeout=5)


def test_cached_product_page_still_takes_an_order_and_shows_a_new_price(
        page, browser, browser_context_args, cached_live_server, shot):
    app, url = cached_live_server, cached_live_server.config["LIVE_URL"]
    with app.app_context():
        make = Factory()
        coop = make.coop()
        product_id = make.product(coop, title="秦岭黑木耳 Black wood-ear", price_fen=3980).id
        owner_id = owner_of(coop).id
    product_url = f"{url}/products/{product_id}"
    others = []

    def new_visitor():  # another browser, without cookies
        others.append(browser.new_context(**browser_context_args))
        return others[-1].new_page()

    try:
        assert new_visitor().goto(product_url).headers["x-page-cache"] == "miss"

        assert page.goto(product_url).headers["x-page-cache"] == "hit"
        expect(page.locator(".buybox .price")).to_contain_text("¥39.80")
        shot("cached-product")
        page.get_by_label("Quantity").fill("2")
        page.get_by_role("button", name="Add to cart").click()
        expect(page).to_have_url(re.compile(r"/cart$"))
        expect(page.locator("main")).to_contain_text("秦岭黑木耳 Black wood-ear")
        shot("cart")

        with app.app_context():  # the cooperative changes the price
            update_product(db.session.get(User, owner_id), db.session.get(Product, product_id), {"price_fen": 4590})
            db.session.commit()
        later = new_visitor()
        assert later.goto(product_url).headers["x-page-cache"] == "miss"
        expect(later.locator(".buybox .price")).to_contain_text("¥45.90")
    finally:
        for context in others:
            context.close()
