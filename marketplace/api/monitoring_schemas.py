"""Schemas of the monitoring and audit API (API.md, "Households, ledger, audit").
Integers are strict and money is integer fen. The services re-check every rule
(a line above zero, steps by level and in order, dates not in the future), so these
schemas only refuse the wrong types and describe the shapes."""
from marshmallow import Schema, fields, validate

from ..monitoring.models import CaseStatus, MeasureKind
from .household_schemas import Paging, Text

Int = lambda **kw: fields.Integer(strict=True, **kw)  # noqa: E731 - a tiny alias
ID = validate.Range(min=1, max=2**31 - 1)


# --- monitoring lines ----------------------------------------------------------------

class MonitoringLineInSchema(Schema):
    year = Int(required=True, metadata={"description": "2000..2100"})
    yuan_per_person = Int(required=True, metadata={"description": "yuan per person per year, above zero"})


class MonitoringLineSchema(Schema):
    id = fields.Integer(required=True)
    year = fields.Integer(required=True)
    yuan_per_person = fields.Integer(required=True)
    line_fen = fields.Integer(metadata={"description": "the same line in fen per person per year"})
    set_by_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()


# --- cases -----------------------------------------------------------------------------

class CaseQuery(Paging):
    status = fields.String(validate=validate.OneOf([s.value for s in CaseStatus] + ["open"]),
                           metadata={"description": "a step, or `open` for every open case"})
    household_id = fields.Integer(validate=ID)


class CaseReasonSchema(Schema):
    rule = fields.String(required=True, metadata={
        "description": "below_line | income_drop | spending_above_income | risk_event"})
    detail = fields.Dict(metadata={"description": "the figures behind the hit, in fen"})


class CaseStepSchema(Schema):
    from_status = fields.String()
    to_status = fields.String()
    actor_id = fields.Integer()
    comment = fields.String()
    created_at = fields.DateTime()


class MeasureSchema(Schema):
    id = fields.Integer(required=True)
    case_id = fields.Integer()
    kind = fields.String(required=True)
    helper = fields.String(required=True)
    started_on = fields.Date(required=True)
    description = fields.String()
    outcome = fields.String()
    recorded_by_id = fields.Integer()
    created_at = fields.DateTime()


class CaseSchema(Schema):
    id = fields.Integer(required=True)
    household_id = fields.Integer(required=True)
    status = fields.String(required=True, metadata={"description": " | ".join(s.value for s in CaseStatus)})
    reasons = fields.List(fields.Nested(CaseReasonSchema), required=True)
    opened_at = fields.DateTime(required=True)
    due_at = fields.DateTime(required=True, metadata={"description": "an assistance measure is due by then"})
    overdue = fields.Boolean()
    closed_at = fields.DateTime(allow_none=True)
    dismissed_reason = fields.String(allow_none=True)
    county = fields.String()
    steps = fields.List(fields.Nested(CaseStepSchema))
    measures = fields.List(fields.Nested(MeasureSchema))


class TransitionSchema(Schema):
    to = fields.String(required=True, validate=validate.OneOf([s.value for s in CaseStatus]))
    comment = Text(2000, required=True)


class MeasureInSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf([k.value for k in MeasureKind]))
    helper = Text(80, required=True)
    started_on = fields.Date(required=True)
    description = Text(3000)
    outcome = Text(3000)


class ScanResultSchema(Schema):
    queued = fields.Boolean(required=True, metadata={"description": "true: on the RQ queue (REDIS_URL set)"})
    job_id = fields.String(metadata={"description": "when queued"})
    households = fields.Integer(metadata={"description": "households scanned (when run inline)"})
    opened = fields.Integer(metadata={"description": "new cases"})
    already_open = fields.Integer(metadata={"description": "hits with a case already open"})


# --- audit ----------------------------------------------------------------------------------

class ReconciliationQuery(Schema):
    cooperative_id = fields.Integer(required=True, validate=ID)
    from_ = fields.Date(data_key="from", metadata={"description": "YYYY-MM-DD; default: 11 months before `to`, "
                                                                   "first of the month"})
    to = fields.Date(metadata={"description": "YYYY-MM-DD, inclusive; default: today (Asia/Shanghai)"})


class ReconciliationSchema(Schema):
    cooperative_id = fields.Integer(required=True)
    from_ = fields.Date(data_key="from", required=True)
    to = fields.Date(required=True)
    currency = fields.String(required=True)
    paid_fen = fields.Integer(required=True, metadata={"description": "order lines paid in the period"})
    refunded_fen = fields.Integer(required=True)
    allocated_fen = fields.Integer(required=True, metadata={"description": "accruals less reversals"})
    absorbed_fen = fields.Integer(required=True, metadata={"description": "reversals the cooperative absorbed"})
    retained_fen = fields.Integer(required=True, metadata={"description": "paid - refunded - allocated - absorbed"})
    paid_out_fen = fields.Integer(required=True)
    owed_fen = fields.Integer(required=True, metadata={"description": "owed to households at the end"})
    paid = fields.Integer(required=True, metadata={"description": "= paid_fen"})
    allocated = fields.Integer(required=True, metadata={"description": "= allocated_fen"})
    retained = fields.Integer(required=True, metadata={"description": "= retained_fen"})
    paid_out = fields.Integer(required=True, metadata={"description": "= paid_out_fen"})
    owed = fields.Integer(required=True, metadata={"description": "= owed_fen"})
    discrepancies = fields.List(fields.Dict(), required=True, metadata={
        "description": "each with `kind`: accrual_without_approved_link, payout_without_reference, "
                       "owed_longer_than_90_days, link_without_income, ledger_chain_break"})
    ledger_verified_at = fields.DateTime(allow_none=True, metadata={
        "description": "when the whole hash chain was last verified (`flask monitoring verify-ledger`); the "
                       "cooperative's entries written since were checked by this request. null: never"})
    ledger_verified_entries = fields.Integer(metadata={"description": "entries that verification covered"})


class LogQuery(Paging):
    email = Text(254, metadata={"description": "part of the actor's email"})
    object_type = Text(40, metadata={"description": "a table name: households, cases, payouts ..."})
    object_id = fields.Integer(validate=ID)
    action = Text(64, metadata={"description": "an action or its start (`case.` finds every case step)"})
    from_ = fields.Date(data_key="from")
    to = fields.Date()
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=100))


class AuditRecordSchema(Schema):
    id = fields.Integer(required=True)
    created_at = fields.DateTime(required=True)
    actor_id = fields.Integer(allow_none=True)
    actor_email = fields.String(allow_none=True)
    action = fields.String(required=True)
    object_type = fields.String(required=True)
    object_id = fields.Integer(allow_none=True)
    before = fields.Raw(allow_none=True)
    after = fields.Raw(allow_none=True)
    ip = fields.String(allow_none=True)
