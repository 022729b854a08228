"""Cooperatives: public list and pages, applications, staff decisions, members."""
from flask_smorest import Blueprint
from sqlalchemy import func, select

from ..catalog.models import Product, ProductStatus
from ..coops import services
from ..coops.models import Invitation
from ..extensions import db
from .common import BEARER, api_user, list_envelope, require_user
from .schemas import (CoopListQuery, CooperativeInSchema, CooperativeSchema, MemberInSchema,
                      MemberSchema, ReasonSchema)
from .serializers import cooperative_dict

blp = Blueprint("coops_api", __name__, description="Cooperatives")


def _product_counts(ids):
    if not ids:
        return {}
    return dict(db.session.execute(
        select(Product.cooperative_id, func.count()).where(
            Product.cooperative_id.in_(ids), Product.status == ProductStatus.active)
        .group_by(Product.cooperative_id)).all())


@blp.route("/cooperatives", methods=["GET"])
@blp.arguments(CoopListQuery, location="query")
@blp.response(200, list_envelope(CooperativeSchema))
def list_cooperatives(args):
    from ..core.regions import canonical_province

    stmt = services.list_cooperatives(province=canonical_province(args.get("province") or ""))
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    page, per_page = args["page"], args["per_page"]
    coops = db.session.scalars(stmt.limit(per_page).offset((page - 1) * per_page)).all()
    counts = _product_counts([c.id for c in coops])
    return {"items": [cooperative_dict(c, counts.get(c.id, 0)) for c in coops], "page": page,
            "per_page": per_page, "total": total}


@blp.route("/cooperatives/<int:coop_id>", methods=["GET"])
@blp.response(200, CooperativeSchema)
def get_cooperative(coop_id):
    user = api_user()
    coop = services.get_cooperative(coop_id, user)
    private = services.can_manage(user, coop) or services.staff_covers(user, coop.county)
    return cooperative_dict(coop, _product_counts([coop.id]).get(coop.id, 0), private=private)


@blp.route("/cooperatives", methods=["POST"])
@blp.arguments(CooperativeInSchema)
@blp.response(201, CooperativeSchema)
@blp.doc(security=BEARER)
def apply(body):
    user = require_user()
    coop = services.apply_for_cooperative(user, body)
    db.session.commit()
    return cooperative_dict(coop, 0, private=True)


def _decide(coop_id, decision, reason=""):
    user = require_user()
    coop = services.get_cooperative(coop_id, user)
    services.decide(user, coop, decision, reason)
    db.session.commit()
    return cooperative_dict(coop, private=True)


@blp.route("/cooperatives/<int:coop_id>/verify", methods=["POST"])
@blp.response(200, CooperativeSchema)
@blp.doc(security=BEARER)
def verify(coop_id):
    return _decide(coop_id, "verify")


@blp.route("/cooperatives/<int:coop_id>/reject", methods=["POST"])
@blp.arguments(ReasonSchema)
@blp.response(200, CooperativeSchema)
@blp.doc(security=BEARER)
def reject(body, coop_id):
    return _decide(coop_id, "reject", body["reason"])


@blp.route("/cooperatives/<int:coop_id>/suspend", methods=["POST"])
@blp.arguments(ReasonSchema)
@blp.response(200, CooperativeSchema)
@blp.doc(security=BEARER)
def suspend(body, coop_id):
    return _decide(coop_id, "suspend", body["reason"])


@blp.route("/cooperatives/<int:coop_id>/members", methods=["POST"])
@blp.arguments(MemberInSchema)
@blp.response(201, MemberSchema)
@blp.doc(security=BEARER)
def add_member(body, coop_id):
    user = require_user()
    coop = services.get_cooperative(coop_id, user)
    result = services.invite_member(user, coop, body["email"], body["role"])
    db.session.commit()
    invited = isinstance(result, Invitation)
    return {"email": result.email if invited else result.user.email, "role": result.role.value,
            "status": "invited" if invited else "member"}
