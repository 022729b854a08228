"""The household register (programme staff) and payouts (cooperatives)."""

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from ..coops.models import MemberRole
from ..coops.services import ensure_member, is_staff
from ..core import audit
from ..core.clock import local_today
from ..core.errors import Conflict, Forbidden, Invalid, NotFound
from ..core.images import process_upload
from ..core.money import MAX_PRICE_FEN, format_fen
from ..core.regions import canonical_province
from ..core.storage import store_image
from ..core.validation import Checker
from ..extensions import db
from ..monitoring.scope import counties_of, ensure_can_see, scope_households
from . import identity, ledger
from .models import EntryKind, Household, HouseholdStatus, LedgerEntry, Payout, PayoutMethod

AUDITED = ("file_no", "head_name", "id_number_masked", "province", "county", "township", "village", "members",
           "working_members", "status", "consent", "enrolled_at")


def require_staff(user):
    if not is_staff(user):
        raise Forbidden(_l("Only programme staff can see the household register."), code="staff_only")


# County scoping is monitoring's (monitoring/scope.py): staff assigned to counties see
# those counties' households only, and another county's household is a 404, as there.

def visible_households(staff, query):
    """`query` (over Household) narrowed to the counties the staff member may see."""
    require_staff(staff)
    return scope_households(query, staff, Household.county)


def household_for(staff, household_id) -> Household:
    """The household, if this staff member may see it; 404 otherwise."""
    require_staff(staff)
    household = get_household(household_id)
    ensure_can_see(staff, household)
    return household


def _require_county_in_scope(staff, county):
    counties = counties_of(staff)
    if counties is not None and county not in counties:
        message = _l("You can register households of your own counties only: %(counties)s.",
                     counties=", ".join(sorted(counties)))
        raise Forbidden(message, code="county_out_of_scope", fields={"county": [message]})


def _check(data, partial_of=None) -> dict:
    if partial_of is not None:
        data = {**{k: getattr(partial_of, k) for k in AUDITED if k != "id_number_masked"},
                "status": partial_of.status.value, **data}
    c = Checker(data)
    c.text("file_no", min_len=4, max_len=40)
    c.text("head_name", max_len=80)
    c.text("province", max_len=40)
    c.text("county", max_len=60)
    c.text("township", max_len=60)
    c.text("village", max_len=80)
    c.integer("members", minimum=1, maximum=30)
    c.integer("working_members", minimum=0, maximum=30)
    c.choice("status", [s.value for s in HouseholdStatus], required=False, default="stable")
    c.boolean("consent")
    c.day("enrolled_at", required=True, not_after=local_today())
    if partial_of is None or "id_number" in data:
        c.text("id_number", min_len=18, max_len=18)
    clean = c.done()
    if clean["working_members"] > clean["members"]:
        raise Invalid(_l("More working members than members."), fields={"working_members": [
            _l("More working members than members.")]})
    clean["province"] = canonical_province(clean["province"]) or clean["province"]
    clean["status"] = HouseholdStatus(clean["status"])
    if "id_number" in clean and not identity.is_valid(clean["id_number"]):
        raise Invalid(_l("This identity number is not valid (check the digits and the last character)."),
                      code="invalid_id_number", fields={"id_number": [_l("This identity number is not valid.")]})
    return clean


def _set_id_number(household, number):
    household.id_number_encrypted = identity.encrypt(number)
    household.id_number_hash = identity.lookup_hash(number)
    household.id_number_masked = identity.mask(number)


def _refuse_duplicates(clean, household_id=None):
    q = select(Household.id).where(Household.file_no == clean["file_no"])
    if "id_number" in clean:
        q = select(Household.id).where((Household.file_no == clean["file_no"]) |
                                       (Household.id_number_hash == identity.lookup_hash(clean["id_number"])))
    clash = [i for i in db.session.scalars(q) if i != household_id]
    if clash:
        raise Conflict(_l("A household with this file number or identity number is already registered."),
                       code="duplicate_household")


def create_household(staff, data: dict) -> Household:
    require_staff(staff)
    clean = _check(data)
    _require_county_in_scope(staff, clean["county"])
    _refuse_duplicates(clean)
    number = clean.pop("id_number")
    household = Household(**clean)
    _set_id_number(household, number)
    db.session.add(household)
    db.session.flush()
    audit.record(staff, "household.create", household, after=audit.snapshot(household, AUDITED))
    return household


def update_household(staff, household: Household, data: dict) -> Household:
    require_staff(staff)
    ensure_can_see(staff, household)
    clean = _check(data, partial_of=household)
    _require_county_in_scope(staff, clean["county"])
    _refuse_duplicates(clean, household.id)
    before = audit.snapshot(household, AUDITED)
    number = clean.pop("id_number", None)
    for key, value in clean.items():
        setattr(household, key, value)
    if number:
        _set_id_number(household, number)
    audit.record(staff, "household.update", household, before=before, after=audit.snapshot(household, AUDITED))
    return household


def unmasked_id_number(staff, household: Household) -> str:
    """The full identity number, for staff only; every call leaves an audit record."""
    require_staff(staff)
    ensure_can_see(staff, household)
    audit.record(staff, "household.unmask", household)
    return identity.decrypt(household.id_number_encrypted)


def get_household(household_id) -> Household:
    ok = isinstance(household_id, int) and 1 <= household_id < 2**31  # past the column: not there, not a 500
    household = db.session.get(Household, household_id) if ok else None
    if household is None:
        raise NotFound(_l("No such household."))
    return household


def record_payout(user, coop, data: dict, receipt: bytes | None = None) -> Payout:
    """Cash actually paid to a household; never more than the cooperative owes it."""
    ensure_member(user, coop, (MemberRole.owner, MemberRole.manager))
    c = Checker(data)
    c.integer("household_id", minimum=1, maximum=2**31 - 1)
    c.integer("amount_fen", minimum=1, maximum=MAX_PRICE_FEN * 100)
    c.choice("method", [m.value for m in PayoutMethod])
    c.text("reference", max_len=80, required=False)
    c.day("paid_on", not_after=local_today())
    clean = c.done()
    get_household(clean["household_id"])
    head = ledger.lock_head()  # before reading the balance: concurrent payouts queue up here
    owed = ledger.balance(clean["household_id"], coop.id)
    if clean["amount_fen"] > owed:
        raise Conflict(_l("That is more than the cooperative owes this household (%(owed)s).",
                          owed=format_fen(owed)), code="exceeds_balance")
    payout = Payout(cooperative_id=coop.id, recorded_by_id=user.id, method=PayoutMethod(clean.pop("method")),
                    paid_on=clean.pop("paid_on") or local_today(), **clean)
    if receipt:
        payout.receipt_key = store_image(process_upload(receipt))
    db.session.add(payout)
    db.session.flush()
    ledger.append([LedgerEntry(kind=EntryKind.payout, household_id=payout.household_id, cooperative_id=coop.id,
                               amount_fen=-payout.amount_fen, payout_id=payout.id)], head)
    audit.record(user, "payout.record", payout, after={"household_id": payout.household_id,
                                                        "amount_fen": payout.amount_fen,
                                                        "method": payout.method.value,
                                                        "reference": payout.reference})
    return payout


def balances_for_household(household_id: int) -> list[tuple[int, int]]:
    """[(cooperative_id, owed_fen)] for one household."""
    return db.session.execute(select(LedgerEntry.cooperative_id, func.sum(LedgerEntry.amount_fen))
                              .where(LedgerEntry.household_id == household_id)
                              .group_by(LedgerEntry.cooperative_id)).all()
