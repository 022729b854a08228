"""Monitoring against falling back into poverty: yearly monitoring lines, other
income and essential spending recorded by staff, risk events, cases that staff
work step by step, and assistance measures. Staff assignments scope each staff
member to counties and give them the role for their step."""
import enum

from sqlalchemy import (JSON, CheckConstraint, Date, ForeignKey, Index, Integer, String, Text,
                        UniqueConstraint, text)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.db import UTCDateTime, str_enum, utcnow
from ..extensions import db


class MonitoringLine(db.Model):
    """The monitoring line for a year, in yuan per person per year."""

    __tablename__ = "monitoring_lines"
    __table_args__ = (CheckConstraint("yuan_per_person > 0", name="positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer, unique=True)
    yuan_per_person: Mapped[int] = mapped_column(Integer)
    set_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class RecordKind(str, enum.Enum):
    income = "income"
    spending = "spending"


class RecordCategory(str, enum.Enum):
    wages = "wages"  # income: wages from work elsewhere
    subsidy = "subsidy"
    farming = "farming"
    other_income = "other_income"
    medical = "medical"  # spending
    education = "education"
    disaster_loss = "disaster_loss"
    other_spending = "other_spending"


INCOME_CATEGORIES = {RecordCategory.wages, RecordCategory.subsidy, RecordCategory.farming, RecordCategory.other_income}


class IncomeRecord(db.Model):
    """Other income or essential spending of a household for one month."""

    __tablename__ = "income_records"
    __table_args__ = (CheckConstraint("amount_fen > 0", name="amount_positive"),
                      Index("ix_income_records_household_month", "household_id", "month"))

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"))
    month = mapped_column(Date, nullable=False)  #: the first day of the month
    kind: Mapped[RecordKind] = mapped_column(str_enum(RecordKind))
    category: Mapped[RecordCategory] = mapped_column(str_enum(RecordCategory))
    amount_fen: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(200), default="")
    evidence_key: Mapped[str | None] = mapped_column(String(64))  #: a photo of the evidence
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class RiskKind(str, enum.Enum):
    serious_illness = "serious_illness"
    disaster = "disaster"
    lost_job = "lost_job"
    other = "other"


class RiskEvent(db.Model):
    __tablename__ = "risk_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"), index=True)
    kind: Mapped[RiskKind] = mapped_column(str_enum(RiskKind))
    occurred_on = mapped_column(Date, nullable=False)
    note: Mapped[str] = mapped_column(String(500), default="")
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class CaseStatus(str, enum.Enum):
    identified = "identified"
    village_review = "village_review"
    township_check = "township_check"
    county_decision = "county_decision"
    assisted = "assisted"
    closed = "closed"
    dismissed = "dismissed"


OPEN_STATUSES = ("identified", "village_review", "township_check", "county_decision", "assisted")


class Case(db.Model):
    __tablename__ = "cases"
    __table_args__ = (
        # at most one open case per household, even when two scans run at once
        Index("uq_cases_one_open_per_household", "household_id", unique=True,
              sqlite_where=text("status IN ('identified','village_review','township_check','county_decision','assisted')"),
              postgresql_where=text("status IN ('identified','village_review','township_check','county_decision','assisted')")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"), index=True)
    status: Mapped[CaseStatus] = mapped_column(str_enum(CaseStatus), default=CaseStatus.identified, index=True)
    reasons = mapped_column(JSON, nullable=False)  #: [{"rule", "detail"}]
    opened_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    due_at = mapped_column(UTCDateTime, nullable=False)  #: an assistance measure is due by then
    closed_at = mapped_column(UTCDateTime)
    dismissed_reason: Mapped[str | None] = mapped_column(String(500))

    household = relationship("Household", lazy="joined")
    steps = relationship("CaseStep", order_by="CaseStep.id", lazy="selectin")
    measures = relationship("Measure", order_by="Measure.id", lazy="selectin")


class CaseStep(db.Model):
    __tablename__ = "case_steps"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    from_status: Mapped[CaseStatus] = mapped_column(str_enum(CaseStatus))
    to_status: Mapped[CaseStatus] = mapped_column(str_enum(CaseStatus))
    actor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    comment: Mapped[str] = mapped_column(Text)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class MeasureKind(str, enum.Enum):
    industry = "industry"
    employment = "employment"
    health = "health"
    education = "education"
    housing = "housing"
    social_security = "social_security"
    livestream_sales = "livestream_sales"
    other = "other"


class Measure(db.Model):
    __tablename__ = "measures"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[MeasureKind] = mapped_column(str_enum(MeasureKind))
    helper: Mapped[str] = mapped_column(String(80))  #: the named person who helps
    started_on = mapped_column(Date, nullable=False)
    description: Mapped[str] = mapped_column(Text, default="")
    outcome: Mapped[str] = mapped_column(Text, default="")
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class StaffLevel(str, enum.Enum):
    village = "village"
    township = "township"
    county = "county"


class StaffAssignment(db.Model):
    """A staff member's county and level. Staff see households of their counties only;
    admins see all. The level decides which case step they may take."""

    __tablename__ = "staff_assignments"
    __table_args__ = (UniqueConstraint("user_id", "county"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    county: Mapped[str] = mapped_column(String(60))
    level: Mapped[StaffLevel] = mapped_column(str_enum(StaffLevel))
