"""Model -> plain dict for API responses (the schemas describe the shape)."""
from flask import url_for

from ..core.storage import image_urls


def product_dict(product, with_images=False) -> dict:
    coop = product.cooperative
    data = {
        "id": product.id, "url": url_for("catalog.product", product_id=product.id, _external=True),
        "title": product.title, "description": product.description, "category": product.category,
        "origin": product.origin, "unit": product.unit, "price_fen": product.price_fen,
        "currency": product.currency, "stock": product.stock, "per_buyer_limit": product.per_buyer_limit,
        "harvest_date": product.harvest_date, "shelf_life_days": product.shelf_life_days,
        "status": product.status.value, "surplus": product.surplus,
        "cooperative": {"id": coop.id, "name": coop.name, "province": coop.province},
        "image_urls": image_urls(product.cover_key), "created_at": product.created_at,
    }
    if with_images:
        data["images"] = [image_urls(img.key) for img in product.images]
    return data


def cooperative_dict(coop, product_count=None, private=False) -> dict:
    data = {
        "id": coop.id, "url": url_for("coops.show", coop_id=coop.id, _external=True), "name": coop.name,
        "province": coop.province, "county": coop.county, "village": coop.village, "story": coop.story,
        "status": coop.status.value, "logo_urls": image_urls(coop.logo_key), "created_at": coop.created_at,
    }
    if product_count is not None:
        data["product_count"] = product_count
    if private:
        data.update(registration_no=coop.registration_no, status_reason=coop.status_reason)
    return data
