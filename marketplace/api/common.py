"""API plumbing: bearer-token auth, list envelopes, the error schema."""
from flask import g, request
from flask_babel import lazy_gettext as _l
from marshmallow import Schema, fields, validate

from ..core.errors import Unauthorized


class ErrorBody(Schema):
    code = fields.String(required=True)
    message = fields.String(required=True)
    fields_ = fields.Dict(data_key="fields", keys=fields.String(), values=fields.List(fields.String()),
                          metadata={"description": "messages per input field"})


class ErrorEnvelope(Schema):
    error = fields.Nested(ErrorBody, required=True)


class PageArgs(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(load_default=24, validate=validate.Range(min=1, max=100))


def list_envelope(item_schema):
    """A schema class for `{"items": [...], "page", "per_page", "total"}`."""
    return Schema.from_dict({
        "items": fields.List(fields.Nested(item_schema), required=True),
        "page": fields.Integer(required=True),
        "per_page": fields.Integer(required=True),
        "total": fields.Integer(required=True),
    }, name=f"{item_schema.__name__.removesuffix('Schema')}List")


def api_user(extend=None, params=None):
    """The user behind the bearer token, or None. Cached per request, with the token's
    id in g.api_token_id. `extend` and `params`: see auth.services.user_for_api_token;
    its rows go to g.api_rows (None when the token was read without them)."""
    if "api_user" not in g:
        from ..auth.services import user_for_api_token

        g.api_user, g.api_token_id, g.api_rows = None, None, None
        raw = bearer_token()
        if raw:
            found = user_for_api_token(raw, extend, params)
            if found is None:
                raise Unauthorized(_l("The token is invalid, expired or revoked."), code="invalid_token")
            g.api_user, g.api_token_id, rows = found
            g.api_rows = rows if extend is not None else None
    return g.api_user


def bearer_token() -> str | None:
    """The request's raw bearer token, if it sent one."""
    scheme, _, raw = request.headers.get("Authorization", "").partition(" ")
    return raw.strip() or None if scheme.lower() == "bearer" else None


def require_user(extend=None, params=None):
    user = api_user(extend, params)
    if user is None:
        raise Unauthorized(_l("Send a bearer token: Authorization: Bearer <token>."), code="unauthorized")
    return user


def rows_read_along():
    """The rows of require_user's `extend`, or None if the token was read without it
    (earlier in the request)."""
    return g.get("api_rows")


BEARER = [{"bearerAuth": []}]
