"""Accounts and API tokens."""
import enum
import hashlib

from flask_login import UserMixin
from sqlalchemy import Boolean, Enum, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.db import UTCDateTime, utcnow
from ..extensions import db


class Role(str, enum.Enum):
    """Site-wide role. Cooperative roles (owner/manager/host) live on memberships."""

    buyer = "buyer"
    staff = "staff"  # programme staff: verify cooperatives, audit households
    admin = "admin"


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)  #: stored lower-case
    display_name: Mapped[str] = mapped_column(String(80))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(Enum(Role, native_enum=False, length=16), default=Role.buyer)
    locale: Mapped[str | None] = mapped_column(String(8))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until = mapped_column(UTCDateTime)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    last_login_at = mapped_column(UTCDateTime)

    membership = relationship("Membership", back_populates="user", uselist=False, lazy="selectin")

    #: set by auth.services.start_session just before login_user(); not a column
    session_token = None

    def get_id(self):
        # The cookie names a server-side session row, so logout and password
        # changes can end a session even if its cookie is replayed later.
        return f"{self.id}:{self.session_token}"

    @property
    def is_active(self):
        return self.active

    @property
    def is_staff(self):
        return self.role in (Role.staff, Role.admin)

    @property
    def is_admin(self):
        return self.role == Role.admin

    @property
    def cooperative(self):
        return self.membership.cooperative if self.membership else None

    def __repr__(self):
        return f"<User {self.id} {self.email}>"


class ApiToken(db.Model):
    """A bearer token for the API. Only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    expires_at = mapped_column(UTCDateTime, nullable=False)
    revoked_at = mapped_column(UTCDateTime)

    user = relationship("User", lazy="joined")

    @staticmethod
    def hash(raw: str) -> str:
        return hashlib.sha256(raw.encode()).hexdigest()


class UserSession(db.Model):
    """One logged-in browser session. The cookie holds the raw token; we keep its hash."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    revoked_at = mapped_column(UTCDateTime)
    user_agent: Mapped[str] = mapped_column(String(200), default="")
