"""Schemas of the checkout and order API (API.md, "Orders and payments")."""
from marshmallow import Schema, fields, validate

Int = lambda **kw: fields.Integer(strict=True, **kw)  # noqa: E731
#: ids are 32-bit columns: a number beyond names nothing, and the database would refuse it
Id = lambda **kw: Int(validate=validate.Range(min=1, max=2**31 - 1), **kw)  # noqa: E731


class CheckoutItemIn(Schema):
    product_id = Id(required=True)
    quantity = Int(required=True)
    livestream_id = Id(allow_none=True)


class AddressSchema(Schema):
    name = fields.String(required=True)
    phone = fields.String(required=True)
    province = fields.String(required=True)
    city = fields.String(required=True)
    address = fields.String(required=True)


class CheckoutIn(Schema):
    items = fields.List(fields.Nested(CheckoutItemIn), required=True, validate=validate.Length(min=1, max=50))
    shipping_address = fields.Nested(AddressSchema, required=True)


class OrderLineSchema(Schema):
    id = fields.Integer(required=True)
    product_id = fields.Integer(required=True)
    livestream_id = fields.Integer(allow_none=True)
    title = fields.String()
    unit = fields.String()
    unit_price_fen = fields.Integer(required=True)
    quantity = fields.Integer(required=True)
    line_total_fen = fields.Integer(required=True)
    refunded_quantity = fields.Integer()
    refunded_fen = fields.Integer()


class OrderEventSchema(Schema):
    status = fields.String()
    note = fields.String()
    created_at = fields.DateTime()


class OrderSchema(Schema):
    id = fields.Integer(required=True)
    checkout_id = fields.Integer()
    cooperative_id = fields.Integer(required=True)
    cooperative_name = fields.String()
    status = fields.String(required=True)
    subtotal_fen = fields.Integer(required=True)
    refunded_fen = fields.Integer()
    currency = fields.String()
    carrier = fields.String(allow_none=True)
    tracking_no = fields.String(allow_none=True)
    created_at = fields.DateTime()
    paid_at = fields.DateTime(allow_none=True)
    shipped_at = fields.DateTime(allow_none=True)
    delivered_at = fields.DateTime(allow_none=True)
    lines = fields.List(fields.Nested(OrderLineSchema), required=True)
    events = fields.List(fields.Nested(OrderEventSchema))


class PaymentSchema(Schema):
    provider = fields.String(required=True, metadata={"description": "stripe or demo"})
    client_secret = fields.String(allow_none=True)
    payment_intent_id = fields.String(allow_none=True)
    confirm_url = fields.String(metadata={"description": "demo mode: POST here to pay"})


class CheckoutSchema(Schema):
    id = fields.Integer(required=True)
    status = fields.String(required=True)
    amount_fen = fields.Integer(required=True)
    currency = fields.String(required=True)
    expires_at = fields.DateTime(required=True)
    orders = fields.List(fields.Nested(OrderSchema), required=True)
    payment = fields.Nested(PaymentSchema)


class OrderListQuery(Schema):
    status = fields.String(validate=validate.OneOf(["pending_payment", "paid", "shipped", "delivered", "cancelled",
                                                     "refunded", "partially_refunded"]))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(load_default=24, validate=validate.Range(min=1, max=100))


class ShipIn(Schema):
    carrier = fields.String(required=True)
    tracking_no = fields.String(required=True)


class RefundLineIn(Schema):
    order_line_id = Int(required=True)
    quantity = Int(required=True)


class RefundIn(Schema):
    lines = fields.List(fields.Nested(RefundLineIn))
    amount_fen = Int()
    reason = fields.String(load_default="")


class RefundSchema(Schema):
    id = fields.Integer(required=True)
    amount_fen = fields.Integer(required=True)
    lines = fields.List(fields.Dict())
    order = fields.Nested(OrderSchema)
