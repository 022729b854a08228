"""Members create, edit and archive their own products; bad input changes nothing."""
import io

import pytest

from marketplace.catalog.models import Product, ProductImage, ProductStatus
from marketplace.coops.models import Cooperative
from marketplace.core.audit import AuditRecord
from marketplace.extensions import db
from tests.conftest import jpeg_bytes, main_html, owner_of

FORM = {"title": "秦岭黑木耳 Black wood-ear", "category": "fungi", "description": "Log-grown",
        "origin": "Zhashui", "unit": "250 g bag", "price": "39.80", "stock": "240", "status": "active",
        "surplus": "y", "harvest_date": "2026-10-01", "shelf_life_days": "365"}


def coop_of(product):
    return db.session.get(Cooperative, product.cooperative_id)


def product_count():
    return db.session.scalar(db.select(db.func.count()).select_from(Product))


def test_member_lists_a_product_with_a_photo(client, make, login):
    coop = make.coop()
    login(owner_of(coop))
    response = client.post("/my/products/new", data={**FORM, "photo": (io.BytesIO(jpeg_bytes()), "p.jpg")},
                           content_type="multipart/form-data")
    assert response.status_code == 302
    product = db.session.scalar(db.select(Product))
    assert (product.price_fen, product.stock, product.surplus, product.status) == (3980, 240, True, ProductStatus.active)
    page = main_html(client.get(f"/products/{product.id}"))
    assert "¥39.80" in page and f"/media/{product.cover_key}-medium.webp" in page
    with client.get(f"/media/{product.cover_key}-thumb.webp") as image:
        assert image.mimetype == "image/webp" and image.data[8:12] == b"WEBP"


@pytest.mark.parametrize("field,value,message", [
    ("price", "0", "¥0.01 to ¥100,000"),
    ("price", "10000000", "¥0.01 to ¥100,000"),
    ("price", "-3", "¥0.01 to ¥100,000"),
    ("price", "12.345", "yuan"),
    ("price", "twelve", "yuan"),
    ("stock", "-1", "from 0 to"),
    ("stock", "1.5", "whole number"),
    ("stock", "99999999", "from 0 to"),
    ("title", "", "required"),
    ("title", "x" * 121, "120"),
    ("category", "weapons", "Not a valid choice"),
    ("harvest_date", "2999-01-01", "future"),
    ("harvest_date", "yesterday", "YYYY-MM-DD"),
    ("shelf_life_days", "0", "from 1 to"),
])
def test_bad_product_input_gets_a_message_and_creates_nothing(client, make, login, field, value, message):
    login(owner_of(make.coop()))
    response = client.post("/my/products/new", data={**FORM, field: value})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert product_count() == 0


def test_a_fake_image_rolls_back_the_whole_save(client, make, login):
    login(owner_of(make.coop()))
    response = client.post("/my/products/new", data={**FORM, "photo": (io.BytesIO(b"<svg onload=alert(1)>"), "x.jpg")},
                           content_type="multipart/form-data")
    assert response.status_code == 422 and "not a JPEG, PNG or WebP" in response.get_data(as_text=True)
    assert product_count() == 0


def test_script_in_text_fields_is_shown_as_text(client, make):
    product = make.product(title="<script>alert(1)</script>", description="<b onclick=x>bold</b>")
    page = main_html(client.get(f"/products/{product.id}"))
    assert "<script>alert(1)" not in page and "&lt;script&gt;" in page and "<b onclick" not in page


def test_member_edits_and_archives_with_audit(client, make, login):
    product = make.product(price_fen=1000)
    login(owner_of(coop_of(product)))
    response = client.post(f"/my/products/{product.id}", data={**FORM, "price": "12.50"})
    assert response.status_code == 302
    assert db.session.get(Product, product.id).price_fen == 1250
    client.post(f"/my/products/{product.id}/archive")
    assert db.session.get(Product, product.id).status == ProductStatus.archived
    assert client.get(f"/products/{product.id}", headers={}).status_code == 200  # the owner still sees it
    record = db.session.scalar(db.select(AuditRecord).where(AuditRecord.action == "product.update")
                               .order_by(AuditRecord.id))
    assert (record.before["price_fen"], record.after["price_fen"]) == (1000, 1250)


def test_archived_product_is_gone_for_visitors(app, make):
    product = make.product(status="archived")
    assert app.test_client().get(f"/products/{product.id}").status_code == 404


def test_another_cooperatives_product_is_not_found(client, make, login):
    theirs = make.product(price_fen=1000)
    login(owner_of(make.coop()))
    assert client.get(f"/my/products/{theirs.id}").status_code == 404
    assert client.post(f"/my/products/{theirs.id}", data={**FORM, "price": "0.01"}).status_code == 404
    assert client.post(f"/my/products/{theirs.id}/archive").status_code == 404
    assert db.session.get(Product, theirs.id).price_fen == 1000


def test_buyers_cannot_open_the_product_editor(client, make, login):
    login(make.user())
    assert client.get("/my/products/new").status_code == 302  # sent to apply as a cooperative


def test_a_host_cannot_edit_products(client, make, login):
    from marketplace.coops.services import invite_member

    coop = make.coop()
    host = make.user()
    invite_member(owner_of(coop), coop, host.email, "host")
    db.session.commit()
    login(host)
    assert client.post("/my/products/new", data=FORM).status_code == 403
    assert product_count() == 0


def test_at_most_eight_photos(client, make, login):
    product = make.product()
    login(owner_of(coop_of(product)))
    for i in range(9):
        response = client.post(f"/my/products/{product.id}", data={**FORM, "photo": (io.BytesIO(jpeg_bytes(color=(i, 0, 0))), "p.jpg")},
                               content_type="multipart/form-data")
    assert response.status_code == 409 and "at most 8 photos" in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count()).select_from(ProductImage)) == 8
