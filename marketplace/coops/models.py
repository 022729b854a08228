"""Cooperatives, their members and invitations."""
import enum

from sqlalchemy import Enum, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.db import UTCDateTime, utcnow
from ..extensions import db


class CoopStatus(str, enum.Enum):
    pending = "pending"
    verified = "verified"
    rejected = "rejected"
    suspended = "suspended"


class MemberRole(str, enum.Enum):
    owner = "owner"  # everything, including inviting members
    manager = "manager"  # products, orders, payouts
    host = "host"  # livestream shows


class Cooperative(db.Model):
    __tablename__ = "cooperatives"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    province: Mapped[str] = mapped_column(String(40), index=True)
    county: Mapped[str] = mapped_column(String(60), index=True)
    village: Mapped[str] = mapped_column(String(80))
    story: Mapped[str] = mapped_column(Text, default="")
    contact_name: Mapped[str] = mapped_column(String(80), default="")
    contact_phone: Mapped[str] = mapped_column(String(32), default="")
    #: the unified social credit code or the registration number on the licence
    registration_no: Mapped[str] = mapped_column(String(40), unique=True)
    logo_key: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[CoopStatus] = mapped_column(
        Enum(CoopStatus, native_enum=False, length=16), default=CoopStatus.pending, index=True)
    status_reason: Mapped[str | None] = mapped_column(String(500))
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    verified_at = mapped_column(UTCDateTime)

    memberships = relationship("Membership", back_populates="cooperative",
                               cascade="all, delete-orphan")

    @property
    def is_public(self):
        return self.status == CoopStatus.verified


class Membership(db.Model):
    """A user's role in a cooperative. A user belongs to at most one cooperative."""

    __tablename__ = "memberships"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    cooperative_id: Mapped[int] = mapped_column(
        ForeignKey("cooperatives.id", ondelete="CASCADE"), index=True)
    role: Mapped[MemberRole] = mapped_column(Enum(MemberRole, native_enum=False, length=16))
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    user = relationship("User", back_populates="membership")
    cooperative = relationship("Cooperative", back_populates="memberships", lazy="joined")


class Invitation(db.Model):
    """An invitation for an email without an account yet; accepted at sign-up."""

    __tablename__ = "invitations"
    __table_args__ = (UniqueConstraint("cooperative_id", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cooperative_id: Mapped[int] = mapped_column(ForeignKey("cooperatives.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(254), index=True)
    role: Mapped[MemberRole] = mapped_column(Enum(MemberRole, native_enum=False, length=16))
    invited_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    accepted_at = mapped_column(UTCDateTime)
