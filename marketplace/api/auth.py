"""POST /auth/tokens, DELETE /auth/tokens/current, POST /auth/signup."""
from flask import current_app, g
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from ..auth import services
from ..extensions import db, limiter
from .common import BEARER, require_user

blp = Blueprint("auth_api", __name__, description="Accounts and API tokens")


class CredentialsSchema(Schema):
    email = fields.String(required=True)
    password = fields.String(required=True)


class TokenSchema(Schema):
    token = fields.String(required=True)
    expires_at = fields.DateTime(required=True)


class SignupSchema(Schema):
    # what the account rules check (auth.services), documented; they answer 422 with their own message
    email = fields.String(required=True, metadata={"format": "email", "maxLength": 254})
    password = fields.String(required=True, metadata={
        "minLength": 8, "maxLength": 128, "description": "not common or easily guessed (else 422 weak_password)"})
    display_name = fields.String(required=True, metadata={"minLength": 1, "maxLength": 80})


class UserSchema(Schema):
    id = fields.Integer(required=True)
    email = fields.String(required=True)
    display_name = fields.String()
    role = fields.String()
    cooperative_id = fields.Integer(allow_none=True)
    cooperative_role = fields.String(allow_none=True)


def user_dict(user):
    m = user.membership
    return {"id": user.id, "email": user.email, "display_name": user.display_name, "role": user.role.value,
            "cooperative_id": m.cooperative_id if m else None, "cooperative_role": m.role.value if m else None}


@blp.route("/auth/tokens", methods=["POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"])
@blp.arguments(CredentialsSchema)
@blp.response(201, TokenSchema)
def create_token(body):
    user = services.authenticate(body["email"], body["password"])
    raw, token = services.issue_api_token(user)
    db.session.commit()
    return {"token": raw, "expires_at": token.expires_at}


@blp.route("/auth/tokens/current", methods=["DELETE"])
@blp.response(204)
@blp.doc(security=BEARER)
def revoke_token():
    require_user()
    services.revoke_api_token(g.api_token_id)
    db.session.commit()


@blp.route("/auth/signup", methods=["POST"])
@limiter.limit(lambda: current_app.config["SIGNUP_RATE_LIMIT"])
@blp.arguments(SignupSchema)
@blp.response(201, UserSchema)
def signup(body):
    user = services.create_user(body["email"], body["password"], body["display_name"])
    db.session.commit()
    return user_dict(user)


@blp.route("/me", methods=["GET"])
@blp.response(200, UserSchema)
@blp.doc(security=BEARER)
def me():
    return user_dict(require_user())
