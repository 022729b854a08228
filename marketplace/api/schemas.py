"""Marshmallow schemas of the catalog and cooperative API: the OpenAPI document is
generated from these. Integers are strict: "12" or 12.5 for a `*_fen` is refused."""
from marshmallow import Schema, fields, validate

from ..catalog.categories import CATEGORIES
from ..catalog.models import ProductStatus

Int = lambda **kw: fields.Integer(strict=True, **kw)  # noqa: E731 - a tiny alias


class ImageUrlsSchema(Schema):
    thumb = fields.String()
    medium = fields.String()
    large = fields.String()


class CoopRefSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    province = fields.String()


class ProductSchema(Schema):
    id = fields.Integer(required=True)
    url = fields.String(required=True, metadata={"description": "the product's HTML page"})
    title = fields.String(required=True)
    description = fields.String()
    category = fields.String()
    origin = fields.String()
    unit = fields.String()
    price_fen = fields.Integer(required=True)
    currency = fields.String(required=True)
    stock = fields.Integer()
    per_buyer_limit = fields.Integer(allow_none=True)
    harvest_date = fields.Date(allow_none=True)
    shelf_life_days = fields.Integer(allow_none=True)
    status = fields.String()
    surplus = fields.Boolean()
    cooperative = fields.Nested(CoopRefSchema)
    image_urls = fields.Nested(ImageUrlsSchema)
    images = fields.List(fields.Nested(ImageUrlsSchema))
    created_at = fields.DateTime()


class ProductInSchema(Schema):
    title = fields.String(required=True)
    description = fields.String()
    category = fields.String(required=True, validate=validate.OneOf(list(CATEGORIES)))
    origin = fields.String()
    unit = fields.String(required=True)
    price_fen = Int(required=True)
    stock = Int(required=True)
    per_buyer_limit = Int(allow_none=True)
    harvest_date = fields.Date(allow_none=True)
    shelf_life_days = Int(allow_none=True)
    status = fields.String(validate=validate.OneOf([s.value for s in ProductStatus]))
    surplus = fields.Boolean()


class ProductPatchSchema(ProductInSchema):
    """Any subset of the product's fields."""

    def __init__(self, **kwargs):
        super().__init__(partial=True, **kwargs)


class ProductQuerySchema(Schema):
    q = fields.String(validate=validate.Length(max=100))
    category = fields.String()
    province = fields.String()
    cooperative_id = fields.Integer()
    surplus = fields.String(validate=validate.OneOf(["0", "1", "true", "false"]))
    min_price_fen = fields.Integer(validate=validate.Range(min=0))
    max_price_fen = fields.Integer(validate=validate.Range(min=0))
    sort = fields.String(validate=validate.OneOf(["relevance", "newest", "price_asc", "price_desc"]))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(load_default=24, validate=validate.Range(min=1, max=100))


class CooperativeSchema(Schema):
    id = fields.Integer(required=True)
    url = fields.String()
    name = fields.String(required=True)
    province = fields.String()
    county = fields.String()
    village = fields.String()
    story = fields.String()
    status = fields.String(required=True)
    status_reason = fields.String(allow_none=True)
    registration_no = fields.String()
    logo_urls = fields.Nested(ImageUrlsSchema)
    product_count = fields.Integer()
    created_at = fields.DateTime()


class CooperativeInSchema(Schema):
    name = fields.String(required=True)
    province = fields.String(required=True)
    county = fields.String(required=True)
    village = fields.String(required=True)
    registration_no = fields.String(required=True)
    story = fields.String()
    contact_name = fields.String()
    contact_phone = fields.String()


class ReasonSchema(Schema):
    reason = fields.String(load_default="")


class MemberInSchema(Schema):
    email = fields.String(required=True)
    role = fields.String(required=True, validate=validate.OneOf(["manager", "host"]))


class MemberSchema(Schema):
    email = fields.String()
    role = fields.String()
    status = fields.String(metadata={"description": "member, or invited (no account yet)"})


class ImageSchema(ImageUrlsSchema):
    id = fields.Integer()
    width = fields.Integer()
    height = fields.Integer()


class CoopListQuery(Schema):
    province = fields.String()
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(load_default=24, validate=validate.Range(min=1, max=100))
