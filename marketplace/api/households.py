"""Households, benefit links, the income ledger, payouts and the ledger audit
(API.md, "Households, ledger, audit").

Programme staff see the register (staff assigned to counties: those counties' households
only, anything else is a 404, as in monitoring); a cooperative member sees only
households linked to their cooperative (any link version), always masked, and only its
own ledger entries with them. The full identity number appears in one place only, GET
/households/{id} for staff, and every such read leaves an audit record.
"""
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from flask_smorest import Blueprint
from sqlalchemy import func, or_, select

from ..coops.services import get_cooperative, is_staff, membership_of
from ..core.errors import Forbidden, Invalid, NotFound
from ..extensions import db
from ..households import identity, income, ledger, links, services
from ..households.models import BenefitLink, Household, HouseholdStatus, LedgerEntry, LinkStatus
from .common import BEARER, list_envelope, require_user
from .household_schemas import (BenefitLinkInSchema, BenefitLinkSchema, DecisionSchema, HouseholdInSchema,
                                HouseholdPatchSchema, HouseholdQuery, HouseholdSchema, IncomeQuery, IncomeSchema,
                                LedgerEntrySchema, LedgerQuery, LinkListQuery, PayoutInSchema, PayoutSchema,
                                VerifySchema)

blp = Blueprint("households_api", __name__, description="Households, benefit links, ledger, payouts, audit")


@blp.before_request
def _signed_in():
    """Every route here needs a token: 401 comes before any 422 about the body."""
    require_user()

MAX_ID = 2**31 - 1
HOUSEHOLD_FIELDS = ("id", "file_no", "head_name", "province", "county", "township", "village", "members",
                    "working_members", "consent", "enrolled_at", "created_at")
ENTRY_FIELDS = ("id", "seq", "amount_fen", "household_id", "cooperative_id", "order_line_id", "link_id", "rate_bp",
                "fixed_fen_per_unit", "absorbed_fen", "payout_id", "refund_id", "created_at", "prev_hash", "hash")
LINK_FIELDS = ("id", "link_key", "version", "cooperative_id", "household_id", "product_id", "share_bp",
               "fixed_fen_per_unit", "valid_from", "valid_to", "proposed_by_id", "decided_by_id", "decided_at",
               "note", "created_at")
EARLIEST, LATEST, MAX_MONTHS = date(1970, 1, 1), date(9998, 12, 31), 120


# --- serializers and look-ups ---------------------------------------------------------

def household_dict(household, unmasked: str | None = None) -> dict:
    data = {k: getattr(household, k) for k in HOUSEHOLD_FIELDS}
    data.update(status=household.status.value, id_number=unmasked or household.id_number_masked,
                masked=unmasked is None)
    return data


def entry_dict(entry) -> dict:
    return {**{k: getattr(entry, k) for k in ENTRY_FIELDS}, "kind": entry.kind.value}


def link_dict(link) -> dict:
    h = link.household
    return {**{k: getattr(link, k) for k in LINK_FIELDS}, "kind": link.kind.value, "status": link.status.value,
            "household": {"id": h.id, "file_no": h.file_no, "head_name": h.head_name, "village": h.village,
                          "id_number": h.id_number_masked}}


def _page(stmt, args, serialize) -> dict:
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    page, per_page = args["page"], args["per_page"]
    rows = db.session.scalars(stmt.limit(per_page).offset((page - 1) * per_page)).all()
    return {"items": [serialize(r) for r in rows], "page": page, "per_page": per_page, "total": total}


def _household(household_id, staff=None) -> Household:
    """The household; with `staff`, only if that staff member may see it."""
    if not 1 <= household_id <= MAX_ID:  # a path id past the column's range is simply not there
        raise NotFound(_l("No such household."))
    if staff is not None:
        return services.household_for(staff, household_id)
    return services.get_household(household_id)


def _visible_household(user, household_id) -> tuple[Household, int | None]:
    """(household, None) for staff who may see it; (household, cooperative id) for a
    member of a cooperative linked to it; otherwise 404, so its existence is not revealed."""
    if is_staff(user):
        return _household(household_id, user), None
    household = _household(household_id)
    coop_id = user.membership.cooperative_id if user.membership else None
    if coop_id is not None and db.session.scalar(select(BenefitLink.id).where(
            BenefitLink.cooperative_id == coop_id, BenefitLink.household_id == household.id).limit(1)):
        return household, coop_id
    raise NotFound(_l("No such household."))


def _coop(coop_id, user):
    if not 1 <= coop_id <= MAX_ID:
        raise NotFound(_l("No such cooperative."))
    return get_cooperative(coop_id, user)


def _link(link_id) -> BenefitLink:
    link = db.session.get(BenefitLink, link_id) if 1 <= link_id <= MAX_ID else None
    if link is None:
        raise NotFound(_l("No such benefit link."))
    return link


# --- the household register ---------------------------------------------------------------

@blp.route("/households", methods=["GET"])
@blp.arguments(HouseholdQuery, location="query")
@blp.response(200, list_envelope(HouseholdSchema))
@blp.doc(security=BEARER, description="Programme staff. Identity numbers are masked in the list.")
def list_households(args):
    stmt = services.visible_households(require_user(), select(Household).order_by(Household.id))
    if args.get("county"):
        stmt = stmt.where(Household.county == args["county"])
    if args.get("village"):
        stmt = stmt.where(Household.village == args["village"])
    if args.get("status"):
        stmt = stmt.where(Household.status == HouseholdStatus(args["status"]))
    q = " ".join((args.get("q") or "").split())
    if q:
        matches = [Household.file_no == q, Household.head_name.contains(q, autoescape=True)]
        if identity.is_valid(q):
            matches.append(Household.id_number_hash == identity.lookup_hash(q))
        stmt = stmt.where(or_(*matches))
    return _page(stmt, args, household_dict)


@blp.route("/households", methods=["POST"])
@blp.arguments(HouseholdInSchema)
@blp.response(201, HouseholdSchema)
@blp.doc(security=BEARER, description="Programme staff. 422 invalid_id_number (checksum), 409 duplicate_household.")
def create_household(body):
    household = services.create_household(require_user(), body)
    db.session.commit()
    return household_dict(household)


@blp.route("/households/<int:household_id>", methods=["GET"])
@blp.response(200, HouseholdSchema)
@blp.doc(security=BEARER, description="Staff get the full identity number (audit-logged on every read); a member "
                                      "of a linked cooperative gets it masked; anyone else 404.")
def get_household(household_id):
    user = require_user()
    household, coop_id = _visible_household(user, household_id)
    if coop_id is not None:
        return household_dict(household)
    number = services.unmasked_id_number(user, household)
    db.session.commit()  # the audit record of this unmasking
    return household_dict(household, number)


@blp.route("/households/<int:household_id>", methods=["PATCH"])
@blp.arguments(HouseholdPatchSchema)
@blp.response(200, HouseholdSchema)
@blp.doc(security=BEARER, description="Programme staff; any subset of the fields.")
def patch_household(body, household_id):
    user = require_user()
    services.require_staff(user)
    household = services.update_household(user, _household(household_id, user), body)
    db.session.commit()
    return household_dict(household)


# --- ledger and income --------------------------------------------------------------------

@blp.route("/households/<int:household_id>/ledger", methods=["GET"])
@blp.arguments(LedgerQuery, location="query")
@blp.response(200, list_envelope(LedgerEntrySchema))
@blp.doc(security=BEARER, description="Staff: every entry; a linked cooperative: only its own entries.")
def household_ledger(args, household_id):
    user = require_user()
    household, coop_id = _visible_household(user, household_id)
    stmt = select(LedgerEntry).where(LedgerEntry.household_id == household.id).order_by(LedgerEntry.seq)
    coop_id = coop_id or args.get("cooperative_id")
    if coop_id is not None:
        stmt = stmt.where(LedgerEntry.cooperative_id == coop_id)
    return _page(stmt, args, entry_dict)


def _income_period(args) -> tuple[date, date]:
    from zoneinfo import ZoneInfo

    end = args.get("to") or datetime.now(ZoneInfo("Asia/Shanghai")).date()
    start = args.get("from_")
    if start is None:
        back = end.year * 12 + end.month - 1 - 11  # the first of the month 11 months before `to`
        start = max(date(back // 12, back % 12 + 1, 1), EARLIEST) if back >= 12 else EARLIEST
    if not EARLIEST <= start <= end <= LATEST:
        raise Invalid(_l("Give a period from YYYY-MM-DD to YYYY-MM-DD, the start not after the end."),
                      code="invalid_period", fields={"from": [_l("The start is after the end.")]})
    if (end.year - start.year) * 12 + end.month - start.month >= MAX_MONTHS:
        raise Invalid(_l("Ask for at most %(n)d months at a time.", n=MAX_MONTHS), code="invalid_period",
                      fields={"from": [_l("Ask for at most %(n)d months at a time.", n=MAX_MONTHS)]})
    return start, end


@blp.route("/households/<int:household_id>/income", methods=["GET"])
@blp.arguments(IncomeQuery, location="query")
@blp.response(200, IncomeSchema)
@blp.doc(security=BEARER, description="Programme staff. Income per month (accruals less reversals; payouts are "
                                      "not income) and per person; default period: the last 12 months.")
def household_income(args, household_id):
    user = require_user()
    services.require_staff(user)
    household = _household(household_id, user)
    start, end = _income_period(args)
    members = household.members
    months = [{**m, "per_capita_fen": m["income_fen"] // members}
              for m in income.monthly_income(household.id, start, end)]
    total = sum(m["income_fen"] for m in months)
    return {"household_id": household.id, "members": members, "from_": start, "to": end, "months": months,
            "total_fen": total, "per_capita_fen": total // members, "summary": income.income_summary(household),
            "owed": [{"cooperative_id": c, "owed_fen": int(owed)}
                     for c, owed in services.balances_for_household(household.id)]}


# --- benefit links ----------------------------------------------------------------------------

@blp.route("/cooperatives/<int:coop_id>/benefit-links", methods=["POST"])
@blp.arguments(BenefitLinkInSchema)
@blp.response(201, BenefitLinkSchema)
@blp.doc(security=BEARER, description="Owner or manager of the cooperative. With `link_key`: a new version. "
                                      "409 overlapping_link, shares_exceed_100.")
def propose_link(body, coop_id):
    user = require_user()
    coop = _coop(coop_id, user)
    link_key = body.pop("link_key", None)
    link = links.propose(user, coop, body, link_key=link_key)
    db.session.commit()
    return link_dict(link)


@blp.route("/cooperatives/<int:coop_id>/benefit-links", methods=["GET"])
@blp.arguments(LinkListQuery, location="query")
@blp.response(200, list_envelope(BenefitLinkSchema))
@blp.doc(security=BEARER, description="The cooperative's members and programme staff; households masked.")
def list_links(args, coop_id):
    user = require_user()
    coop = _coop(coop_id, user)
    if not (is_staff(user) or membership_of(user, coop)):
        raise Forbidden(_l("Only this cooperative's members can do that."), code="not_your_cooperative")
    stmt = select(BenefitLink).where(BenefitLink.cooperative_id == coop.id).order_by(BenefitLink.id)
    if is_staff(user) and not membership_of(user, coop):  # staff of a county: its households' links only
        stmt = services.visible_households(user, stmt.join(Household, Household.id == BenefitLink.household_id))
    if args.get("status"):
        stmt = stmt.where(BenefitLink.status == LinkStatus(args["status"]))
    if args.get("household_id"):
        stmt = stmt.where(BenefitLink.household_id == args["household_id"])
    return _page(stmt, args, link_dict)


def _decide(link_id, body, approve):
    user = require_user()
    link = _link(link_id)
    if is_staff(user):  # another county's household: 404, as everywhere
        _household(link.household_id, user)
    link = links.decide(user, link, approve, body.get("note", ""))
    db.session.commit()
    return link_dict(link)


@blp.route("/benefit-links/<int:link_id>/approve", methods=["POST"])
@blp.arguments(DecisionSchema)
@blp.response(200, BenefitLinkSchema)
@blp.doc(security=BEARER, description="Programme staff other than the proposer (403 two_person_rule).")
def approve_link(body, link_id):
    return _decide(link_id, body, True)


@blp.route("/benefit-links/<int:link_id>/reject", methods=["POST"])
@blp.arguments(DecisionSchema)
@blp.response(200, BenefitLinkSchema)
@blp.doc(security=BEARER, description="Programme staff other than the proposer.")
def reject_link(body, link_id):
    return _decide(link_id, body, False)


# --- payouts and the audit ----------------------------------------------------------------------

@blp.route("/cooperatives/<int:coop_id>/payouts", methods=["POST"])
@blp.arguments(PayoutInSchema)
@blp.response(201, PayoutSchema)
@blp.doc(security=BEARER, description="Owner or manager; never more than the cooperative owes the household "
                                      "(409 exceeds_balance).")
def record_payout(body, coop_id):
    user = require_user()
    coop = _coop(coop_id, user)
    payout = services.record_payout(user, coop, body)
    db.session.commit()
    return {**{k: getattr(payout, k) for k in ("id", "cooperative_id", "household_id", "amount_fen", "reference",
                                                "paid_on", "created_at")},
            "method": payout.method.value, "balance_fen": ledger.balance(payout.household_id, coop.id)}


@blp.route("/audit/ledger/verify", methods=["GET"])
@blp.response(200, VerifySchema)
@blp.doc(security=BEARER, description="Programme staff. Walks the hash chain; reports the first broken entry.")
def verify_ledger():
    if not is_staff(require_user()):
        raise Forbidden(_l("Only programme staff can audit the ledger."), code="staff_only")
    return ledger.verify()
