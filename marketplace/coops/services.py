"""Cooperative verbs: apply, verify / reject / suspend, invite members, permission checks."""
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from ..core import audit
from ..core.db import utcnow
from ..core.errors import Conflict, Forbidden, Invalid, NotFound
from ..core.images import process_upload
from ..core.mail import send_mail
from ..core.regions import canonical_province
from ..core.storage import store_image
from ..core.urls import external_url
from ..core.validation import Checker
from ..extensions import db
from .models import CoopStatus, Cooperative, Invitation, Membership, MemberRole

AUDITED = ("name", "province", "county", "village", "registration_no", "status", "status_reason")


def get_cooperative(coop_id, viewer=None) -> Cooperative:
    """A cooperative the viewer may see: verified ones for everyone, any for its
    own members and for the staff of its county (staff_covers)."""
    coop = db.session.get(Cooperative, coop_id) if isinstance(coop_id, int) else None
    if coop is None or not (coop.is_public or can_manage(viewer, coop) or staff_covers(viewer, coop.county)):
        raise NotFound(_l("No such cooperative."))
    return coop


def is_staff(user):
    return bool(user and getattr(user, "is_authenticated", False) and user.is_staff)


def staff_covers(user, *counties: str) -> bool:
    """Whether `user` is staff who act on the cooperatives of one of `counties` (their
    applications, private details and orders). Staff assigned to counties act on those
    counties only, as they see only those counties' households (monitoring.scope);
    programme-level staff (no assignment) and admins act on all. (Their assignments are
    read once, however many counties are asked about.)"""
    if not is_staff(user):
        return False
    from ..monitoring.scope import counties_of  # (monitoring builds on this module)

    assigned = counties_of(user)
    return assigned is None or not assigned.isdisjoint(counties)


def membership_of(user, coop) -> Membership | None:
    if not user or not getattr(user, "is_authenticated", False) or not user.membership:
        return None
    return user.membership if user.membership.cooperative_id == coop.id else None


def can_manage(user, coop, roles=(MemberRole.owner, MemberRole.manager)) -> bool:
    m = membership_of(user, coop)
    return bool(m and m.role in roles)


def ensure_member(user, coop, roles=(MemberRole.owner, MemberRole.manager)) -> Membership:
    """Raise Forbidden unless the user holds one of `roles` in this cooperative."""
    m = membership_of(user, coop)
    if m is None or m.role not in roles:
        raise Forbidden(_l("Only this cooperative's members can do that."), code="not_your_cooperative")
    return m


def _check_fields(data, partial=False) -> dict:
    c = Checker(data)
    c.text("name", min_len=2, max_len=120)
    c.text("province", max_len=40)
    c.text("county", max_len=60)
    c.text("village", max_len=80)
    c.text("story", max_len=5000, required=False, multiline=True)
    c.text("contact_name", max_len=80, required=False)
    c.text("contact_phone", max_len=32, required=False)
    c.text("registration_no", min_len=6, max_len=40)
    clean = c.done()
    province = canonical_province(clean["province"])
    if province is None:
        raise Invalid(_l("Choose a province of China."), code="invalid",
                      fields={"province": [_l("Choose a province of China.")]})
    clean["province"] = province
    clean["registration_no"] = clean["registration_no"].upper()
    return clean


def apply_for_cooperative(user, data: dict, logo_bytes: bytes | None = None) -> Cooperative:
    """The applicant becomes the owner of a new, pending cooperative."""
    if user.membership:
        raise Conflict(_l("You already belong to a cooperative."), code="already_member")
    clean = _check_fields(data)
    taken = db.session.scalar(select(func.count()).select_from(Cooperative).where(
        Cooperative.registration_no == clean["registration_no"]))
    if taken:
        raise Conflict(_l("A cooperative with this registration number is already registered."),
                       code="registration_taken")
    coop = Cooperative(**clean, status=CoopStatus.pending)
    if logo_bytes:
        coop.logo_key = store_image(process_upload(logo_bytes))
    db.session.add(coop)
    db.session.flush()
    db.session.add(Membership(user_id=user.id, cooperative_id=coop.id, role=MemberRole.owner))
    db.session.flush()
    db.session.refresh(user)
    audit.record(user, "cooperative.apply", coop, after=audit.snapshot(coop, AUDITED))
    return coop


def update_cooperative(user, coop, data: dict, logo_bytes: bytes | None = None) -> Cooperative:
    ensure_member(user, coop, roles=(MemberRole.owner,))
    before = audit.snapshot(coop, AUDITED)
    clean = _check_fields({**data, "registration_no": coop.registration_no})
    for key, value in clean.items():
        setattr(coop, key, value)
    if logo_bytes:
        coop.logo_key = store_image(process_upload(logo_bytes))
    audit.record(user, "cooperative.update", coop, before=before, after=audit.snapshot(coop, AUDITED))
    return coop


# --- staff decisions ------------------------------------------------------------

#: which statuses each staff decision may start from
DECISIONS = {
    "verify": ({CoopStatus.pending, CoopStatus.rejected, CoopStatus.suspended}, CoopStatus.verified),
    "reject": ({CoopStatus.pending}, CoopStatus.rejected),
    "suspend": ({CoopStatus.verified}, CoopStatus.suspended),
}


def decide(staff, coop: Cooperative, decision: str, reason: str = "") -> Cooperative:
    if not is_staff(staff):
        raise Forbidden(_l("Only programme staff can verify cooperatives."), code="staff_only")
    if not staff_covers(staff, coop.county):  # another county's: as if it did not exist
        raise NotFound(_l("No such cooperative."))
    allowed_from, target = DECISIONS[decision]
    if coop.status not in allowed_from:
        raise Conflict(_l("A %(status)s cooperative cannot be changed that way.",
                          status=_(coop.status.value)), code="invalid_transition")
    reason = " ".join((reason or "").split())
    if len(reason) > 500 or (decision == "reject" and len(reason) < 3):
        raise Invalid(_l("Give a reason of 3 to 500 characters."), code="reason_required",
                      fields={"reason": [_l("Give a reason of 3 to 500 characters.")]})
    before = audit.snapshot(coop, AUDITED)
    coop.status = target
    coop.status_reason = reason or None
    if target == CoopStatus.verified:
        coop.verified_at = utcnow()
    audit.record(staff, f"cooperative.{decision}", coop, before=before,
                 after=audit.snapshot(coop, AUDITED))
    _tell_owners(coop, decision, reason)
    return coop


def _tell_owners(coop, decision, reason):
    for m in coop.memberships:
        if m.role != MemberRole.owner:
            continue
        with force_locale(m.user.locale or "zh_CN"):
            subject = {"verify": _("Your cooperative is verified"),
                       "reject": _("Your cooperative application was not accepted"),
                       "suspend": _("Your cooperative is suspended")}[decision]
            body = subject + ("\n" + _("Reason: %(reason)s", reason=reason) if reason else "")
            send_mail(m.user.email, f"{subject}: {coop.name}", body)


# --- members --------------------------------------------------------------------

def invite_member(owner, coop, email: str, role: str):
    """Add an existing account at once, or keep an invitation for sign-up."""
    from ..auth.services import find_user_by_email, normalize_email

    ensure_member(owner, coop, roles=(MemberRole.owner,))
    if role not in ("manager", "host"):
        raise Invalid(_l("A member is a manager or a host."), code="invalid_role",
                      fields={"role": [_l("A member is a manager or a host.")]})
    email = normalize_email(email)
    user = find_user_by_email(email)
    if user is None:
        return _keep_invitation(owner, coop, email, MemberRole(role))
    if user.membership:
        raise Conflict(_l("That person already belongs to a cooperative."), code="already_member")
    member = Membership(user_id=user.id, cooperative_id=coop.id, role=MemberRole(role))
    db.session.add(member)
    db.session.flush()
    audit.record(owner, "cooperative.member_add", coop, after={"user_id": user.id, "role": role})
    with force_locale(user.locale or "zh_CN"):
        send_mail(email, _("You are now a member of %(coop)s", coop=coop.name),
                  _("%(owner)s added you to %(coop)s.", owner=owner.display_name, coop=coop.name))
    return member


def _keep_invitation(owner, coop, email, role):
    invitation = db.session.scalar(select(Invitation).where(
        Invitation.cooperative_id == coop.id, Invitation.email == email))
    if invitation is None:
        invitation = Invitation(cooperative_id=coop.id, email=email, role=role, invited_by_id=owner.id)
        db.session.add(invitation)
    invitation.role = role
    db.session.flush()
    audit.record(owner, "cooperative.invite", coop, after={"email": email, "role": role.value})
    with force_locale("zh_CN"):  # no account yet, so no known language: the site's main one
        send_mail(email, _("Join %(coop)s on the marketplace", coop=coop.name),
                  _("%(owner)s invites you to join %(coop)s.\nSign up with this email address: %(link)s",
                    owner=owner.display_name, coop=coop.name, link=external_url("auth.signup")))
    return invitation


def accept_pending_invitations(user) -> None:
    invitation = db.session.scalar(select(Invitation).where(
        Invitation.email == user.email, Invitation.accepted_at.is_(None)).order_by(Invitation.id))
    if invitation is None:
        return
    invitation.accepted_at = utcnow()
    db.session.add(Membership(user_id=user.id, cooperative_id=invitation.cooperative_id,
                              role=invitation.role))
    db.session.flush()
    audit.record(user, "cooperative.invitation_accept", object_type="cooperatives",
                 object_id=invitation.cooperative_id)


def list_cooperatives(status=CoopStatus.verified, province=None):
    q = select(Cooperative).order_by(Cooperative.name)
    if status is not None:
        q = q.where(Cooperative.status == status)
    if province:
        q = q.where(Cooperative.province == province)
    return q
