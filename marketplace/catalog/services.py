"""Product verbs for cooperative members, and the visibility rule for everyone else."""
from functools import cache

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import joinedload

from ..coops.models import CoopStatus, MemberRole
from ..coops.services import ensure_member, membership_of, staff_covers
from ..core import audit
from ..core.clock import local_today
from ..core.errors import Conflict, NotFound
from ..core.images import process_upload
from ..core.storage import store_image
from ..core.validation import Checker
from ..extensions import db
from .categories import CATEGORIES, category_code
from .models import Product, ProductImage, ProductStatus

EDITORS = (MemberRole.owner, MemberRole.manager)
AUDITED = ("title", "category", "price_fen", "stock", "status", "surplus", "unit",
           "per_buyer_limit")
MAX_STOCK = 1_000_000


def check_product(data: dict, partial_of: Product | None = None) -> dict:
    """Validate product fields. With `partial_of`, missing fields keep their value."""
    if partial_of is not None:
        data = {**{k: getattr(partial_of, k) for k in _FIELDS}, **data}
        data["status"] = _status_value(data.get("status"))
    if isinstance(data.get("category"), str):
        data = {**data, "category": category_code(data["category"]) or data["category"]}
    c = Checker(data)
    c.text("title", min_len=2, max_len=120)
    c.text("description", max_len=5000, required=False, multiline=True)
    c.choice("category", CATEGORIES)
    c.text("origin", max_len=120, required=False)
    c.text("unit", max_len=40)
    c.price_fen("price_fen")
    c.integer("stock", minimum=0, maximum=MAX_STOCK)
    c.integer("per_buyer_limit", minimum=1, maximum=10_000, required=False)
    c.day("harvest_date", not_after=local_today())
    c.integer("shelf_life_days", minimum=1, maximum=3650, required=False)
    c.choice("status", [s.value for s in ProductStatus], required=False, default="draft")
    c.boolean("surplus")
    clean = c.done()
    clean["status"] = ProductStatus(clean["status"])
    return clean


_FIELDS = ("title", "description", "category", "origin", "unit", "price_fen", "stock",
           "per_buyer_limit", "harvest_date", "shelf_life_days", "status", "surplus")


def _status_value(value):
    return value.value if isinstance(value, ProductStatus) else value


def create_product(user, coop, data: dict) -> Product:
    ensure_member(user, coop, EDITORS)
    clean = check_product(data)
    product = Product(cooperative_id=coop.id, **clean)
    product.refresh_search_text()
    db.session.add(product)
    db.session.flush()
    audit.record(user, "product.create", product, after=audit.snapshot(product, AUDITED))
    return product


def update_product(user, product: Product, data: dict) -> Product:
    ensure_member(user, product_coop(product), EDITORS)
    before = audit.snapshot(product, AUDITED)
    clean = check_product(data, partial_of=product)
    for key, value in clean.items():
        setattr(product, key, value)
    product.refresh_search_text()
    db.session.flush()
    audit.record(user, "product.update", product, before=before, after=audit.snapshot(product, AUDITED))
    return product


def product_coop(product: Product):
    from ..coops.models import Cooperative

    return db.session.get(Cooperative, product.cooperative_id)


def add_image(user, product: Product, data: bytes, alt: str = "") -> ProductImage:
    ensure_member(user, product_coop(product), EDITORS)
    count = db.session.scalar(select(func.count()).where(ProductImage.product_id == product.id))
    if count >= current_app.config["MAX_PRODUCT_IMAGES"]:
        raise Conflict(_l("A product has at most %(n)d photos.", n=current_app.config["MAX_PRODUCT_IMAGES"]),
                       code="too_many_images")
    processed = process_upload(data)
    store_image(processed)
    image = ProductImage(product_id=product.id, key=processed.key, position=count,
                         width=processed.width, height=processed.height, alt=(alt or "")[:200])
    db.session.add(image)
    if product.cover_key is None:
        product.cover_key = processed.key
    db.session.flush()
    audit.record(user, "product.image_add", product, after={"image_id": image.id})
    return image


def remove_image(user, product: Product, image_id: int) -> None:
    ensure_member(user, product_coop(product), EDITORS)
    image = db.session.get(ProductImage, image_id)
    if image is None or image.product_id != product.id:
        raise NotFound(_l("No such photo."))
    db.session.delete(image)
    db.session.flush()
    first = db.session.scalar(select(ProductImage.key).where(ProductImage.product_id == product.id)
                              .order_by(ProductImage.position, ProductImage.id).limit(1))
    product.cover_key = first
    audit.record(user, "product.image_remove", product, before={"image_id": image_id})


def load_product(product_id) -> Product | None:
    if not isinstance(product_id, int):
        return None
    return db.session.scalars(_product_with_coop_and_images(), {"product_id": product_id}).unique().one_or_none()


@cache
def _product_with_coop_and_images():
    """One query, built once (the id is a parameter): a product has at most
    MAX_PRODUCT_IMAGES photos, so joining them repeats the product's row a few times,
    which costs less than a second round trip."""
    return select(Product).where(Product.id == bindparam("product_id")).options(
        joinedload(Product.cooperative), joinedload(Product.images))


def visible_product(product_id, viewer=None) -> Product:
    """The product if the viewer may see it: active products of verified
    cooperatives for everyone; any of its own for a member; any of their counties' for staff."""
    product = load_product(product_id)
    if product is None or not may_view(viewer, product):
        raise NotFound(_l("No such product."))
    return product


def may_view(viewer, product) -> bool:
    """The rule of visible_product, for a product with its cooperative loaded (an ORM
    Product, or the product page's read: catalog.product_page)."""
    coop = product.cooperative
    public = product.status == ProductStatus.active and coop.status == CoopStatus.verified
    return public or membership_of(viewer, coop) is not None or staff_covers(viewer, coop.county)


def editable_product(product_id, user) -> Product:
    """The product if the user may edit it; another cooperative's product is 404."""
    product = load_product(product_id)
    if product is None or membership_of(user, product.cooperative) is None:
        raise NotFound(_l("No such product."))
    ensure_member(user, product.cooperative, EDITORS)
    return product


def coop_products(coop, status=None):
    q = select(Product).where(Product.cooperative_id == coop.id).order_by(Product.id.desc())
    if status:
        q = q.where(Product.status == status)
    return q

