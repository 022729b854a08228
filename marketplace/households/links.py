"""Benefit links: proposed by a cooperative, approved by a staff member other than
the proposer (two-person rule). A change is a new version; shares on a product
never add up to more than 100%."""
import uuid

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select

from ..catalog.models import Product
from ..coops.models import MemberRole
from ..coops.services import ensure_member, is_staff
from ..core import audit
from ..core.db import utcnow
from ..core.errors import Conflict, Forbidden, Invalid, NotFound
from ..core.money import MAX_PRICE_FEN
from ..core.validation import Checker
from ..extensions import db
from .models import BenefitLink, Household, LinkKind, LinkStatus

LIVE = (LinkStatus.proposed, LinkStatus.approved)
AUDITED = ("link_key", "version", "household_id", "kind", "product_id", "share_bp", "fixed_fen_per_unit",
           "valid_from", "valid_to", "status")


def _check(data, coop) -> dict:
    c = Checker(data)
    c.integer("household_id", minimum=1, maximum=2**31 - 1)
    c.choice("kind", [k.value for k in LinkKind])
    c.integer("product_id", minimum=1, maximum=2**31 - 1, required=False)
    c.integer("share_bp", minimum=1, maximum=10000, required=False)
    c.integer("fixed_fen_per_unit", minimum=1, maximum=MAX_PRICE_FEN, required=False)
    c.day("valid_from", required=True)
    c.day("valid_to")
    c.text("note", max_len=500, required=False)
    clean = c.done()
    if (clean["share_bp"] is None) == (clean["fixed_fen_per_unit"] is None):
        raise Invalid(_l("Give either a share in basis points or a fixed amount per unit."), code="invalid_rule",
                      fields={"share_bp": [_l("Give either a share in basis points or a fixed amount per unit.")]})
    if clean["valid_to"] and clean["valid_to"] < clean["valid_from"]:
        raise Invalid(_l("The end date is before the start date."), code="invalid_period",
                      fields={"valid_to": [_l("The end date is before the start date.")]})
    if db.session.get(Household, clean["household_id"]) is None:
        raise NotFound(_l("No such household."))
    product = db.session.get(Product, clean["product_id"]) if clean["product_id"] else None
    if clean["product_id"] and (product is None or product.cooperative_id != coop.id):
        raise NotFound(_l("No such product in this cooperative."))
    return clean


def _overlapping(coop_id, start, end, exclude_key=None, **same):
    q = select(BenefitLink).where(
        BenefitLink.cooperative_id == coop_id, BenefitLink.status.in_(LIVE),
        or_(BenefitLink.valid_to.is_(None), BenefitLink.valid_to >= start))
    if end is not None:
        q = q.where(BenefitLink.valid_from <= end)
    if exclude_key:
        q = q.where(BenefitLink.link_key != exclude_key)
    for name, value in same.items():
        column = getattr(BenefitLink, name)
        q = q.where(column.is_(None) if value is None else column == value)
    return db.session.scalars(q).all()


def _check_overlap(coop, clean, link_key):
    clash = _overlapping(coop.id, clean["valid_from"], clean["valid_to"], exclude_key=link_key,
                         household_id=clean["household_id"], kind=LinkKind(clean["kind"]),
                         product_id=clean["product_id"])
    if clash:
        raise Conflict(_l("This household already has such a link for an overlapping period."),
                       code="overlapping_link")


def check_total_share(coop_id, link: BenefitLink) -> None:
    """Refuse when approving `link` would let shares on some product pass 100%."""
    if not link.share_bp:
        return
    others = [k for k in _overlapping(coop_id, link.valid_from, link.valid_to, exclude_key=link.link_key)
              if k.status == LinkStatus.approved and k.share_bp]
    coop_wide = sum(k.share_bp for k in others if k.product_id is None)
    per_product = {}
    for k in others:
        if k.product_id is not None:
            per_product[k.product_id] = per_product.get(k.product_id, 0) + k.share_bp
    if link.product_id is None:
        worst = coop_wide + max(per_product.values(), default=0)
    else:
        worst = coop_wide + per_product.get(link.product_id, 0)
    if worst + link.share_bp > 10000:
        raise Conflict(_l("Shares on a product would add up to more than 100%% (%(pct)s%%).",
                          pct=(worst + link.share_bp) / 100), code="shares_exceed_100")


def propose(user, coop, data: dict, link_key: str | None = None) -> BenefitLink:
    """A new link, or (with link_key) a new version of an existing one."""
    ensure_member(user, coop, (MemberRole.owner, MemberRole.manager))
    clean = _check(data, coop)
    version = 1
    if link_key:
        latest = latest_version(link_key)
        if latest is None or latest.cooperative_id != coop.id:
            raise NotFound(_l("No such benefit link."))
        version = latest.version + 1
    _check_overlap(coop, clean, link_key)
    link = BenefitLink(link_key=link_key or uuid.uuid4().hex, version=version, cooperative_id=coop.id,
                       kind=LinkKind(clean.pop("kind")), proposed_by_id=user.id, **clean)
    check_total_share(coop.id, link)
    db.session.add(link)
    db.session.flush()
    audit.record(user, "benefit_link.propose", link, after=audit.snapshot(link, AUDITED))
    return link


def latest_version(link_key: str) -> BenefitLink | None:
    return db.session.scalar(select(BenefitLink).where(BenefitLink.link_key == link_key)
                             .order_by(BenefitLink.version.desc()).limit(1))


def decide(staff, link: BenefitLink, approve: bool, note: str = "") -> BenefitLink:
    if not is_staff(staff):
        raise Forbidden(_l("Only programme staff approve benefit links."), code="staff_only")
    proposer_side = staff.membership is not None and staff.membership.cooperative_id == link.cooperative_id
    if link.proposed_by_id == staff.id or proposer_side:
        raise Forbidden(_l("Someone other than the proposer must approve a link."), code="two_person_rule")
    if link.status != LinkStatus.proposed:
        raise Conflict(_l("This link was already decided."), code="invalid_transition")
    before = audit.snapshot(link, AUDITED)
    if approve:
        check_total_share(link.cooperative_id, link)
        for old in db.session.scalars(select(BenefitLink).where(
                BenefitLink.link_key == link.link_key, BenefitLink.status == LinkStatus.approved)):
            old.status = LinkStatus.superseded
    link.status = LinkStatus.approved if approve else LinkStatus.rejected
    link.decided_by_id, link.decided_at, link.note = staff.id, utcnow(), (note or link.note)[:500]
    audit.record(staff, f"benefit_link.{'approve' if approve else 'reject'}", link, before=before,
                 after=audit.snapshot(link, AUDITED))
    return link


def share_in_force(cooperative_id, product_id, today):
    """SELECT of (total basis points, number of households, fixed fen per unit) of the
    approved links in force on `today` on a product, for the buyer-facing "n% of this sale
    goes to N households". Its arguments are SQL: the product page's one statement
    (catalog.product_page) passes its product's columns, so this is a correlated subquery."""
    return select(func.coalesce(func.sum(BenefitLink.share_bp), 0),
                  func.count(func.distinct(BenefitLink.household_id)),
                  func.coalesce(func.sum(BenefitLink.fixed_fen_per_unit), 0)).where(
        BenefitLink.cooperative_id == cooperative_id, BenefitLink.status == LinkStatus.approved,
        BenefitLink.valid_from <= today, or_(BenefitLink.valid_to.is_(None), BenefitLink.valid_to >= today),
        or_(BenefitLink.product_id.is_(None), BenefitLink.product_id == product_id))
