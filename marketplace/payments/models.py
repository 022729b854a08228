"""Payment provider events, each processed once."""
from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..core.db import UTCDateTime, utcnow
from ..extensions import db


class PaymentEvent(db.Model):
    """One provider event. The unique (provider, event_id) is inserted in the same
    transaction as the event's effect, so a replayed event changes nothing."""

    __tablename__ = "payment_events"
    __table_args__ = (UniqueConstraint("provider", "event_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(16))
    event_id: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(80))
    payment_intent_id: Mapped[str | None] = mapped_column(String(255), index=True)
    checkout_id: Mapped[int | None] = mapped_column(ForeignKey("checkouts.id"))
    #: what we did: paid, already_paid, released, refunded_late, amount_mismatch, unknown_intent, ignored
    outcome: Mapped[str] = mapped_column(String(32))
    received_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
