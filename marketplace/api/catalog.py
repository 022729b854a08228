"""Products: search and read for everyone; create, edit and add photos for members."""
from flask import request
from flask_babel import lazy_gettext as _l
from flask_smorest import Blueprint

from ..catalog import services
from ..catalog.search import parse_query, run_catalog
from ..coops.services import get_cooperative
from ..core.errors import Invalid
from ..extensions import db
from .common import BEARER, api_user, list_envelope, require_user
from .schemas import ImageSchema, ProductInSchema, ProductPatchSchema, ProductQuerySchema, ProductSchema
from .serializers import product_dict

blp = Blueprint("catalog_api", __name__, description="Products")


@blp.route("/products", methods=["GET"])
@blp.arguments(ProductQuerySchema, location="query")
@blp.response(200, list_envelope(ProductSchema))
def list_products(args):
    cq = parse_query({k: str(v) for k, v in args.items()})
    items, total = run_catalog(db.session, cq)
    return {"items": [product_dict(p) for p in items], "page": cq.page, "per_page": cq.per_page,
            "total": total}


@blp.route("/products/<int:product_id>", methods=["GET"])
@blp.response(200, ProductSchema)
def get_product(product_id):
    return product_dict(services.visible_product(product_id, api_user()), with_images=True)


@blp.route("/products/<int:product_id>", methods=["PATCH"])
@blp.arguments(ProductPatchSchema)
@blp.response(200, ProductSchema)
@blp.doc(security=BEARER)
def patch_product(body, product_id):
    user = require_user()
    product = services.editable_product(product_id, user)
    services.update_product(user, product, body)
    db.session.commit()
    return product_dict(services.load_product(product_id), with_images=True)


@blp.route("/cooperatives/<int:coop_id>/products", methods=["POST"])
@blp.arguments(ProductInSchema)
@blp.response(201, ProductSchema)
@blp.doc(security=BEARER)
def create_product(body, coop_id):
    user = require_user()
    coop = get_cooperative(coop_id, user)
    product = services.create_product(user, coop, body)
    db.session.commit()
    return product_dict(services.load_product(product.id), with_images=True)


@blp.route("/products/<int:product_id>/images", methods=["POST"])
@blp.response(201, ImageSchema)
@blp.doc(security=BEARER, requestBody={"required": True, "content": {"multipart/form-data": {
    "schema": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}},
               "required": ["file"]}}}})
def add_image(product_id):
    user = require_user()
    product = services.editable_product(product_id, user)
    upload = request.files.get("file")
    if upload is None:
        raise Invalid(_l("Send the photo as multipart field “file”."), code="file_required")
    image = services.add_image(user, product, upload.read(), alt=product.title)
    db.session.commit()
    from ..core.storage import image_urls

    return {"id": image.id, "width": image.width, "height": image.height, **image_urls(image.key)}
