"""Append-only audit log: who changed what, when, with before/after snapshots.

Services call `record(...)` in the same transaction as the change they describe,
so a change without its record (or the reverse) cannot be committed.
"""
from flask import has_request_context, request
from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .db import UTCDateTime, utcnow


class AuditRecord(db.Model):
    __tablename__ = "audit_records"
    __table_args__ = (Index("ix_audit_records_object", "object_type", "object_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[int | None]
    before = mapped_column(JSON)
    after = mapped_column(JSON)
    ip: Mapped[str | None] = mapped_column(String(64))


def record(actor, action, obj=None, before=None, after=None, object_type=None, object_id=None):
    """Append one audit record. `actor` may be None for system actions (CLI, jobs)."""
    entry = AuditRecord(
        actor_id=getattr(actor, "id", None),
        action=action,
        object_type=object_type or (obj.__tablename__ if obj is not None else "system"),
        object_id=object_id if object_id is not None else getattr(obj, "id", None),
        before=before,
        after=after,
        ip=request.remote_addr if has_request_context() else None,
    )
    db.session.add(entry)
    return entry


def snapshot(obj, fields):
    """A JSON-safe dict of the named attributes, for before/after records."""
    out = {}
    for name in fields:
        value = getattr(obj, name)
        if hasattr(value, "isoformat"):
            value = value.isoformat()
        out[name] = value
    return out
