"""Enrolled households, their benefit links with cooperatives, the append-only
income ledger and payouts."""
import enum

from sqlalchemy import (BigInteger, Boolean, CheckConstraint, Date, ForeignKey, Index, Integer, String,
                        Text, UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.db import UTCDateTime, str_enum, utcnow
from ..extensions import db


class HouseholdStatus(str, enum.Enum):
    stable = "stable"
    monitored = "monitored"
    assisted = "assisted"
    exited = "exited"


class Household(db.Model):
    __tablename__ = "households"
    __table_args__ = (CheckConstraint("members >= 1", name="members_positive"),
                      CheckConstraint("working_members >= 0 AND working_members <= members", name="working_range"))

    id: Mapped[int] = mapped_column(primary_key=True)
    #: the file-and-card number (建档立卡号) of the poverty registration system
    file_no: Mapped[str] = mapped_column(String(40), unique=True)
    head_name: Mapped[str] = mapped_column(String(80))
    id_number_encrypted: Mapped[str] = mapped_column(Text)
    #: keyed hash of the identity number: uniqueness without decryption
    id_number_hash: Mapped[str] = mapped_column(String(64), unique=True)
    id_number_masked: Mapped[str] = mapped_column(String(24))
    province: Mapped[str] = mapped_column(String(40))
    county: Mapped[str] = mapped_column(String(60), index=True)
    township: Mapped[str] = mapped_column(String(60))
    village: Mapped[str] = mapped_column(String(80))
    members: Mapped[int] = mapped_column(Integer)
    working_members: Mapped[int] = mapped_column(Integer)
    status: Mapped[HouseholdStatus] = mapped_column(str_enum(HouseholdStatus), default=HouseholdStatus.stable)
    consent: Mapped[bool] = mapped_column(Boolean, default=False)  #: consent to data use
    enrolled_at = mapped_column(Date, nullable=False)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class LinkKind(str, enum.Enum):
    supplier = "supplier"  # sells raw goods to the cooperative
    wage = "wage"  # works in the cooperative's workshop
    dividend = "dividend"  # holds shares
    land_lease = "land_lease"  # leases land to the cooperative


class LinkStatus(str, enum.Enum):
    proposed = "proposed"
    approved = "approved"
    rejected = "rejected"
    superseded = "superseded"  # a newer approved version replaced it


class BenefitLink(db.Model):
    """One version of a link between a cooperative and a household. A change is a
    new version (same `link_key`, version + 1); past versions are never edited."""

    __tablename__ = "benefit_links"
    __table_args__ = (
        UniqueConstraint("link_key", "version"),
        CheckConstraint("(share_bp IS NULL) <> (fixed_fen_per_unit IS NULL)", name="one_rule"),
        CheckConstraint("share_bp IS NULL OR (share_bp > 0 AND share_bp <= 10000)", name="share_range"),
        CheckConstraint("fixed_fen_per_unit IS NULL OR fixed_fen_per_unit > 0", name="fixed_positive"),
        Index("ix_benefit_links_coop_status", "cooperative_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    link_key: Mapped[str] = mapped_column(String(32), index=True)  #: the same for every version
    version: Mapped[int] = mapped_column(Integer, default=1)
    cooperative_id: Mapped[int] = mapped_column(ForeignKey("cooperatives.id"))
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"), index=True)
    kind: Mapped[LinkKind] = mapped_column(str_enum(LinkKind))
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"))  #: None: the whole cooperative
    share_bp: Mapped[int | None] = mapped_column(Integer)  #: basis points of the line's net amount
    fixed_fen_per_unit: Mapped[int | None] = mapped_column(Integer)
    valid_from = mapped_column(Date, nullable=False)
    valid_to = mapped_column(Date)  #: inclusive; None: open-ended
    status: Mapped[LinkStatus] = mapped_column(str_enum(LinkStatus), default=LinkStatus.proposed)
    proposed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at = mapped_column(UTCDateTime)
    note: Mapped[str] = mapped_column(String(500), default="")
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    household = relationship("Household", lazy="joined")


class EntryKind(str, enum.Enum):
    accrual = "accrual"  # + owed to the household from a paid order line
    reversal = "reversal"  # - undoes (part of) an accrual after a refund
    payout = "payout"  # - cash the cooperative actually paid


class LedgerEntry(db.Model):
    """Append-only (database triggers refuse UPDATE and DELETE). `hash` covers the
    entry's content and `prev_hash`, chaining every entry to the one before."""

    __tablename__ = "ledger_entries"
    __table_args__ = (Index("ix_ledger_household_coop", "household_id", "cooperative_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: position in the chain, 1, 2, 3 ... with no gaps: a deleted entry leaves a hole
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    kind: Mapped[EntryKind] = mapped_column(str_enum(EntryKind))
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"))
    cooperative_id: Mapped[int] = mapped_column(ForeignKey("cooperatives.id"), index=True)
    amount_fen: Mapped[int] = mapped_column(Integer)  #: signed: + accrual, - reversal and payout
    order_line_id: Mapped[int | None] = mapped_column(ForeignKey("order_lines.id"), index=True)
    link_id: Mapped[int | None] = mapped_column(ForeignKey("benefit_links.id"))  #: the version applied
    rate_bp: Mapped[int | None] = mapped_column(Integer)  #: frozen from the link version
    fixed_fen_per_unit: Mapped[int | None] = mapped_column(Integer)
    refund_id: Mapped[int | None] = mapped_column(ForeignKey("refunds.id"))
    #: part of a refund's reversal the household had already been paid: the
    #: cooperative absorbs it, money is never clawed back from a household
    absorbed_fen: Mapped[int] = mapped_column(Integer, default=0)
    payout_id: Mapped[int | None] = mapped_column(ForeignKey("payouts.id"))
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False, index=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class LedgerHead(db.Model):
    """The hash of the newest entry. Appending locks this row, which serialises
    writers of the one chain on PostgreSQL (SQLite serialises writers anyway)."""

    __tablename__ = "ledger_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    last_hash: Mapped[str] = mapped_column(String(64))
    entries: Mapped[int] = mapped_column(BigInteger, default=0)


class PayoutMethod(str, enum.Enum):
    cash = "cash"
    bank_transfer = "bank_transfer"
    mobile_payment = "mobile_payment"


class Payout(db.Model):
    __tablename__ = "payouts"
    __table_args__ = (CheckConstraint("amount_fen > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cooperative_id: Mapped[int] = mapped_column(ForeignKey("cooperatives.id"), index=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"), index=True)
    amount_fen: Mapped[int] = mapped_column(Integer)
    method: Mapped[PayoutMethod] = mapped_column(str_enum(PayoutMethod))
    reference: Mapped[str] = mapped_column(String(80), default="")
    receipt_key: Mapped[str | None] = mapped_column(String(64))  #: photo of the receipt
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    paid_on = mapped_column(Date, nullable=False)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
