"""Schemas of the livestream API (API.md, "Livestreams"). Times are ISO 8601 with an
offset; money is integer fen."""
from marshmallow import Schema, fields, validate

from .common import PageArgs

Int = lambda **kw: fields.Integer(strict=True, **kw)  # noqa: E731


#: one Server-Sent Event of a room's stream (each `field: value` line of the event; `data` is JSON)
ROOM_EVENT = {"type": "object", "required": ["data"], "properties": {
    "id": {"type": "string", "description": "send it back as Last-Event-ID to resume"},
    "event": {"type": "string", "enum": ["pin", "stock", "chat", "status", "viewers", "connection"]},
    "data": {"type": "string", "contentMediaType": "application/json"},
    "retry": {"description": "milliseconds before a browser reconnects"}}}


class LivestreamListQuery(PageArgs):
    status = fields.String(validate=validate.OneOf(["upcoming", "live", "ended"]))
    cooperative_id = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))  # the column is INTEGER


class LineupItemIn(Schema):
    product_id = Int(required=True)
    live_price_fen = Int(required=True, metadata={"description": "at most the regular price"})
    quota = Int(required=True, metadata={"description": "units reserved from stock for the show"})
    per_buyer_limit = Int(allow_none=True)


class LivestreamIn(Schema):
    title = fields.String(required=True)
    description = fields.String(load_default="")
    starts_at = fields.String(required=True, metadata={"description": "ISO 8601 with offset, e.g. "
                                                                      "2026-12-01T20:00:00+08:00"})
    ends_at = fields.String(required=True, metadata={"description": "at most 12 hours after the start"})
    stream_url = fields.String(required=True, metadata={"description": "an HLS .m3u8 URL or an embed URL"})
    replay_url = fields.String(allow_none=True)
    items = fields.List(fields.Nested(LineupItemIn), load_default=list, validate=validate.Length(max=20))


class LineupItemSchema(Schema):
    product_id = fields.Integer(required=True)
    title = fields.String()
    unit = fields.String()
    price_fen = fields.Integer(metadata={"description": "the regular price"})
    live_price_fen = fields.Integer(required=True)
    quota = fields.Integer()
    sold = fields.Integer()
    remaining = fields.Integer()
    per_buyer_limit = fields.Integer(allow_none=True)


class LivestreamSchema(Schema):
    id = fields.Integer(required=True)
    cooperative_id = fields.Integer(required=True)
    cooperative_name = fields.String()
    title = fields.String(required=True)
    description = fields.String()
    cover_urls = fields.Dict(keys=fields.String(), values=fields.String())
    status = fields.String(required=True, metadata={"description": "scheduled, live, ended or cancelled"})
    starts_at = fields.DateTime(required=True)
    ends_at = fields.DateTime(required=True)
    started_at = fields.DateTime(allow_none=True)
    ended_at = fields.DateTime(allow_none=True)
    stream_kind = fields.String(metadata={"description": "hls or embed"})
    stream_url = fields.String()
    replay_url = fields.String(allow_none=True)
    pinned_product_id = fields.Integer(allow_none=True)
    items = fields.List(fields.Nested(LineupItemSchema))
    page_url = fields.String()
    ics_url = fields.String()
    events_url = fields.String()


class PinIn(Schema):
    product_id = Int(required=True, allow_none=True, metadata={"description": "null unpins"})


class ChatIn(Schema):
    body = fields.String(required=True, metadata={"description": "plain text, at most 300 characters"})


class ChatMessageSchema(Schema):
    message_id = fields.Integer(required=True)
    author = fields.String()
    body = fields.String(required=True)
    created_at = fields.String(metadata={"description": "ISO 8601, UTC"})


class ReminderSchema(Schema):
    show_id = fields.Integer(required=True)
    subscribed = fields.Boolean(required=True)
    created_at = fields.DateTime()
    sent_at = fields.DateTime(allow_none=True)


class ReportProductSchema(Schema):
    product_id = fields.Integer(required=True)
    title = fields.String()
    live_price_fen = fields.Integer(allow_none=True)
    quota = fields.Integer(allow_none=True)
    sold = fields.Integer(allow_none=True)
    orders = fields.Integer()
    units = fields.Integer()
    gmv_fen = fields.Integer()
    refunded_fen = fields.Integer()


class ReportHouseholdSchema(Schema):
    household_id = fields.Integer(required=True)
    file_no = fields.String(metadata={"description": "registration file number; names are never shown"})
    village = fields.String()
    income_fen = fields.Integer(metadata={"description": "accruals minus reversals on the show's paid lines"})


class ReportSchema(Schema):
    show_id = fields.Integer(required=True)
    title = fields.String()
    status = fields.String()
    peak_viewers = fields.Integer()
    unique_viewers = fields.Integer()
    chat_messages = fields.Integer()
    orders = fields.Integer(metadata={"description": "paid orders with a line bought in the show"})
    buyers = fields.Integer()
    units = fields.Integer()
    gmv_fen = fields.Integer(metadata={"description": "paid line totals bought in the show"})
    refunded_fen = fields.Integer()
    conversion = fields.Float(allow_none=True, metadata={"description": "buyers / unique viewers"})
    household_income_fen = fields.Integer(metadata={"description": "ledger accruals and reversals on its lines"})
    products = fields.List(fields.Nested(ReportProductSchema))
    households = fields.List(fields.Nested(ReportHouseholdSchema))
