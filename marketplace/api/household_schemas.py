"""Schemas of the households, benefit links, ledger, income, payouts and audit API
(API.md, "Households, ledger, audit"). Money is integer fen; integers are strict.
The services re-check every rule (ranges, identity checksums, overlaps), so these
schemas only refuse what is the wrong type and describe the shapes."""
import re

from marshmallow import Schema, ValidationError, fields, validate

from ..households.models import HouseholdStatus, LinkKind, LinkStatus, PayoutMethod

Int = lambda **kw: fields.Integer(strict=True, **kw)  # noqa: E731 - a tiny alias
STATUSES = [s.value for s in HouseholdStatus]


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")  # NUL and lone surrogates: no database takes them


def no_nul(value):
    if _UNSTORABLE.search(value):
        raise ValidationError("Enter text without control characters.")


def Text(max_len, **kw):  # noqa: N802 - a field factory
    return fields.String(validate=[validate.Length(max=max_len), no_nul], **kw)


class Paging(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(load_default=24, validate=validate.Range(min=1, max=100))


# --- households -------------------------------------------------------------------

class HouseholdSchema(Schema):
    id = fields.Integer(required=True)
    file_no = fields.String(required=True, metadata={"description": "file-and-card number (unique)"})
    head_name = fields.String(required=True)
    id_number = fields.String(required=True, metadata={
        "description": "masked (610426********1234) unless the caller is programme staff reading one "
                       "household; every unmasked read is audit-logged"})
    masked = fields.Boolean(metadata={"description": "whether id_number is masked"})
    province = fields.String()
    county = fields.String()
    township = fields.String()
    village = fields.String()
    members = fields.Integer()
    working_members = fields.Integer()
    status = fields.String(metadata={"description": " | ".join(STATUSES)})
    consent = fields.Boolean(metadata={"description": "consent to data use"})
    enrolled_at = fields.Date()
    created_at = fields.DateTime()


class HouseholdInSchema(Schema):
    file_no = Text(40, required=True)
    head_name = Text(80, required=True)
    id_number = Text(18, required=True, metadata={"description": "18 characters, GB 11643 check character"})
    province = Text(40, required=True)
    county = Text(60, required=True)
    township = Text(60, required=True)
    village = Text(80, required=True)
    members = Int(required=True)
    working_members = Int(required=True)
    status = fields.String(validate=validate.OneOf(STATUSES))
    consent = fields.Boolean()
    enrolled_at = fields.Date(required=True)


class HouseholdPatchSchema(HouseholdInSchema):
    """Any subset of the household's fields."""

    def __init__(self, **kwargs):
        super().__init__(partial=True, **kwargs)


class HouseholdQuery(Paging):
    county = Text(60)
    village = Text(80)
    status = fields.String(validate=validate.OneOf(STATUSES))
    q = Text(100, metadata={"description": "file number, part of the head's name, or a whole identity number"})


# --- ledger and income -------------------------------------------------------------

class LedgerEntrySchema(Schema):
    id = fields.Integer(required=True)
    seq = fields.Integer(required=True, metadata={"description": "position in the hash chain"})
    kind = fields.String(required=True, metadata={"description": "accrual | reversal | payout"})
    amount_fen = fields.Integer(required=True, metadata={"description": "signed: + accrual, - reversal, payout"})
    household_id = fields.Integer()
    cooperative_id = fields.Integer(required=True)
    order_line_id = fields.Integer(allow_none=True)
    link_id = fields.Integer(allow_none=True, metadata={"description": "the link version applied"})
    rate_bp = fields.Integer(allow_none=True)
    fixed_fen_per_unit = fields.Integer(allow_none=True)
    absorbed_fen = fields.Integer(metadata={"description": "reversal the cooperative absorbed (already paid out)"})
    payout_id = fields.Integer(allow_none=True)
    refund_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime(required=True)
    prev_hash = fields.String()
    hash = fields.String(required=True)


class LedgerQuery(Paging):
    cooperative_id = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1),
                                    metadata={"description": "staff: only this cooperative's entries"})
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class IncomeQuery(Schema):
    from_ = fields.Date(data_key="from", metadata={"description": "YYYY-MM-DD; default: 11 months before `to`, "
                                                                   "first of the month"})
    to = fields.Date(metadata={"description": "YYYY-MM-DD, inclusive; default: today (Asia/Shanghai)"})


class MonthIncomeSchema(Schema):
    month = fields.String(required=True, metadata={"description": "YYYY-MM"})
    income_fen = fields.Integer(required=True)
    per_capita_fen = fields.Integer(required=True)


class IncomeSummarySchema(Schema):
    year_fen = fields.Integer()
    year_per_capita_fen = fields.Integer()
    rolling_12m_fen = fields.Integer()
    rolling_12m_per_capita_fen = fields.Integer()


class IncomeSchema(Schema):
    household_id = fields.Integer(required=True)
    members = fields.Integer(required=True)
    from_ = fields.Date(data_key="from", required=True)
    to = fields.Date(required=True)
    months = fields.List(fields.Nested(MonthIncomeSchema), required=True)
    total_fen = fields.Integer(required=True)
    per_capita_fen = fields.Integer(required=True)
    summary = fields.Nested(IncomeSummarySchema, required=True)
    owed = fields.List(fields.Dict(), metadata={"description": "[{cooperative_id, owed_fen}]"})


# --- benefit links -------------------------------------------------------------------

class LinkHouseholdSchema(Schema):
    id = fields.Integer()
    file_no = fields.String()
    head_name = fields.String()
    village = fields.String()
    id_number = fields.String(metadata={"description": "always masked"})


class BenefitLinkSchema(Schema):
    id = fields.Integer(required=True)
    link_key = fields.String(required=True, metadata={"description": "the same for every version"})
    version = fields.Integer(required=True)
    cooperative_id = fields.Integer(required=True)
    household_id = fields.Integer(required=True)
    household = fields.Nested(LinkHouseholdSchema)
    kind = fields.String(required=True)
    product_id = fields.Integer(allow_none=True, metadata={"description": "null: the whole cooperative"})
    share_bp = fields.Integer(allow_none=True)
    fixed_fen_per_unit = fields.Integer(allow_none=True)
    valid_from = fields.Date(required=True)
    valid_to = fields.Date(allow_none=True)
    status = fields.String(required=True)
    proposed_by_id = fields.Integer()
    decided_by_id = fields.Integer(allow_none=True)
    decided_at = fields.DateTime(allow_none=True)
    note = fields.String()
    created_at = fields.DateTime()


class BenefitLinkInSchema(Schema):
    household_id = Int(required=True)
    kind = fields.String(required=True, validate=validate.OneOf([k.value for k in LinkKind]))
    product_id = Int(allow_none=True)
    share_bp = Int(allow_none=True, metadata={"description": "basis points of the line's net amount"})
    fixed_fen_per_unit = Int(allow_none=True)
    valid_from = fields.Date(required=True)
    valid_to = fields.Date(allow_none=True, metadata={"description": "inclusive; null: open-ended"})
    note = Text(500)
    link_key = fields.String(validate=validate.Regexp(r"^[0-9a-f]{32}$"),
                             metadata={"description": "propose a new version of this link"})


class LinkListQuery(Paging):
    status = fields.String(validate=validate.OneOf([s.value for s in LinkStatus]))
    household_id = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))


class DecisionSchema(Schema):
    note = Text(500, load_default="")


# --- payouts and audit -----------------------------------------------------------------

class PayoutInSchema(Schema):
    household_id = Int(required=True)
    amount_fen = Int(required=True, validate=validate.Range(min=1))
    method = fields.String(required=True, validate=validate.OneOf([m.value for m in PayoutMethod]))
    reference = Text(80)
    paid_on = fields.Date(allow_none=True, metadata={"description": "default: today"})


class PayoutSchema(Schema):
    id = fields.Integer(required=True)
    cooperative_id = fields.Integer(required=True)
    household_id = fields.Integer(required=True)
    amount_fen = fields.Integer(required=True)
    method = fields.String(required=True)
    reference = fields.String()
    paid_on = fields.Date()
    created_at = fields.DateTime()
    balance_fen = fields.Integer(metadata={"description": "what the cooperative still owes the household"})


class BrokenEntrySchema(Schema):
    id = fields.Integer(allow_none=True)
    seq = fields.Integer()
    problem = fields.String()


class VerifySchema(Schema):
    ok = fields.Boolean(required=True)
    entries = fields.Integer(required=True, metadata={"description": "entries checked"})
    first_broken = fields.Nested(BrokenEntrySchema)
