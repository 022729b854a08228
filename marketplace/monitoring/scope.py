"""Which households a staff member may see. Staff with county assignments see
those counties only; programme-level staff (no assignment) and admins see all."""
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..coops.services import is_staff
from ..core.errors import Forbidden, NotFound
from ..extensions import db
from .models import StaffAssignment, StaffLevel


def assignments(user) -> list[StaffAssignment]:
    return db.session.scalars(select(StaffAssignment).where(StaffAssignment.user_id == user.id)).all()


def counties_of(user) -> set[str] | None:
    """None means every county."""
    if not is_staff(user):
        raise Forbidden(_l("Only programme staff can do that."), code="staff_only")
    if user.is_admin:
        return None
    rows = assignments(user)
    return {a.county for a in rows} if rows else None


def scope_households(query, user, county_column):
    counties = counties_of(user)
    return query if counties is None else query.where(county_column.in_(counties))


def ensure_can_see(user, household) -> None:
    counties = counties_of(user)
    if counties is not None and household.county not in counties:
        raise NotFound(_l("No such household."))


def level_in(user, county) -> StaffLevel | None:
    """The user's level for a county (admins and unassigned programme staff: county level)."""
    if user.is_admin:
        return StaffLevel.county
    rows = assignments(user)
    if not rows:
        return StaffLevel.county
    return next((a.level for a in rows if a.county == county), None)
