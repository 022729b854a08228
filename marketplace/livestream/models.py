"""Livestream shows, their lineup, pins, chat, reminders and the event log that
feeds the live room's Server-Sent Events."""
import enum

from sqlalchemy import (JSON, CheckConstraint, ForeignKey, Index, Integer, String, Text,
                        UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.db import UTCDateTime, str_enum, utcnow
from ..extensions import db


def _enum(cls):
    return str_enum(cls, length=16)


class ShowStatus(str, enum.Enum):
    scheduled = "scheduled"
    live = "live"
    ended = "ended"
    cancelled = "cancelled"


class StreamKind(str, enum.Enum):
    hls = "hls"  # an .m3u8 URL played in the page (hls.js)
    embed = "embed"  # an outside platform's player URL in an iframe


class Show(db.Model):
    __tablename__ = "shows"
    __table_args__ = (CheckConstraint("ends_at > starts_at", name="ends_after_start"),
                      Index("ix_shows_status_starts", "status", "starts_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    cooperative_id: Mapped[int] = mapped_column(ForeignKey("cooperatives.id"), index=True)
    host_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    title: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    cover_key: Mapped[str | None] = mapped_column(String(64))
    starts_at = mapped_column(UTCDateTime, nullable=False)  #: stored in UTC, shown in the viewer's zone
    ends_at = mapped_column(UTCDateTime, nullable=False)
    stream_kind: Mapped[StreamKind] = mapped_column(_enum(StreamKind))
    stream_url: Mapped[str] = mapped_column(String(500))
    replay_url: Mapped[str | None] = mapped_column(String(500))
    status: Mapped[ShowStatus] = mapped_column(_enum(ShowStatus), default=ShowStatus.scheduled)
    started_at = mapped_column(UTCDateTime)
    ended_at = mapped_column(UTCDateTime)
    peak_viewers: Mapped[int] = mapped_column(Integer, default=0)
    #: the last event number of this show's room; events are numbered 1, 2, 3 ...
    event_seq: Mapped[int] = mapped_column(Integer, default=0)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    cooperative = relationship("Cooperative", lazy="joined")
    items = relationship("LineupItem", order_by="LineupItem.position", lazy="selectin",
                         back_populates="show")


class LineupItem(db.Model):
    """A product in a show at a live price. `quota` units were taken from the
    product's stock when scheduled; `sold` only grows by guarded statements."""

    __tablename__ = "lineup_items"
    __table_args__ = (UniqueConstraint("show_id", "product_id"),
                      CheckConstraint("sold >= 0 AND sold <= quota", name="sold_within_quota"),
                      CheckConstraint("live_price_fen > 0", name="live_price_positive"))

    id: Mapped[int] = mapped_column(primary_key=True)
    show_id: Mapped[int] = mapped_column(ForeignKey("shows.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    live_price_fen: Mapped[int] = mapped_column(Integer)  #: at most the regular price
    quota: Mapped[int] = mapped_column(Integer)  #: units reserved for the show
    sold: Mapped[int] = mapped_column(Integer, default=0)
    per_buyer_limit: Mapped[int | None] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer, default=0)

    show = relationship("Show", back_populates="items")
    product = relationship("Product", lazy="joined")

    @property
    def remaining(self):
        return self.quota - self.sold


class Pin(db.Model):
    """When a lineup product was pinned and unpinned: the replay's timeline."""

    __tablename__ = "pins"

    id: Mapped[int] = mapped_column(primary_key=True)
    show_id: Mapped[int] = mapped_column(ForeignKey("shows.id", ondelete="CASCADE"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("lineup_items.id", ondelete="CASCADE"))
    pinned_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    unpinned_at = mapped_column(UTCDateTime)


class ChatMessage(db.Model):
    __tablename__ = "chat_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    show_id: Mapped[int] = mapped_column(ForeignKey("shows.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(String(300))  #: plain text; escaped wherever shown
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    deleted_at = mapped_column(UTCDateTime)
    deleted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class ChatMute(db.Model):
    __tablename__ = "chat_mutes"
    __table_args__ = (UniqueConstraint("show_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    show_id: Mapped[int] = mapped_column(ForeignKey("shows.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    muted_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class Reminder(db.Model):
    __tablename__ = "reminders"
    __table_args__ = (UniqueConstraint("show_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    show_id: Mapped[int] = mapped_column(ForeignKey("shows.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    sent_at = mapped_column(UTCDateTime)  #: the "starting soon" mail went out


class ShowEvent(db.Model):
    """Every live-room event, persisted: its seq is the SSE event id, so a viewer who
    reconnects with Last-Event-ID gets exactly what it missed, from any process."""

    __tablename__ = "show_events"
    __table_args__ = (UniqueConstraint("show_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    show_id: Mapped[int] = mapped_column(ForeignKey("shows.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)  #: the SSE event id within the show
    type: Mapped[str] = mapped_column(String(16))  #: pin, stock, chat, status, viewers
    data = mapped_column(JSON, nullable=False)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class ShowViewer(db.Model):
    """One row per distinct viewer of a show (a user, or an anonymous browser), for the report."""

    __tablename__ = "show_viewers"
    __table_args__ = (UniqueConstraint("show_id", "viewer_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    show_id: Mapped[int] = mapped_column(ForeignKey("shows.id", ondelete="CASCADE"))
    viewer_key: Mapped[str] = mapped_column(String(64))
    first_seen_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
