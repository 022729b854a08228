"""Live chat: plain text (escaped wherever shown), at most 300 characters, one
message per user every few seconds, hosts delete messages and mute users."""
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..core import audit
from ..core.db import utcnow
from ..core.errors import Conflict, DomainError, Forbidden, Invalid, NotFound
from ..extensions import db
from .events import emit
from .models import ChatMessage, ChatMute, ShowStatus
from .services import _host_check

MAX_LENGTH = 300
MIN_INTERVAL = timedelta(seconds=2)  #: per user and show; Flask-Limiter adds a per-minute cap


class TooFast(DomainError):
    status = 429
    code = "rate_limited"


def post(user, show, body) -> ChatMessage:
    if show.status not in (ShowStatus.live, ShowStatus.scheduled):
        raise Conflict(_l("Chat is open before and during the show."), code="chat_closed")
    text = " ".join(str(body or "").split()) if isinstance(body, str) else ""
    if not text:
        raise Invalid(_l("Write something first."), code="empty_message")
    if len(text) > MAX_LENGTH:
        raise Invalid(_l("At most %(n)d characters.", n=MAX_LENGTH), code="message_too_long")
    if db.session.scalar(select(ChatMute.id).where(ChatMute.show_id == show.id, ChatMute.user_id == user.id)):
        raise Forbidden(_l("The host has muted you in this show."), code="muted")
    last = db.session.scalar(select(ChatMessage.created_at).where(
        ChatMessage.show_id == show.id, ChatMessage.user_id == user.id).order_by(ChatMessage.id.desc()).limit(1))
    if last and utcnow() - last < MIN_INTERVAL:
        raise TooFast(_l("Slow down a little: one message every two seconds."))
    message = ChatMessage(show_id=show.id, user_id=user.id, body=text)
    db.session.add(message)
    db.session.flush()
    emit(show, "chat", message_dict(message, user.display_name))
    return message


def message_dict(message, author) -> dict:
    return {"message_id": message.id, "author": author, "body": message.body,
            "created_at": message.created_at.isoformat()}


def delete(user, show, message_id) -> None:
    _host_check(user, show)
    message = db.session.get(ChatMessage, message_id)
    if message is None or message.show_id != show.id:
        raise NotFound(_l("No such message."))
    if message.deleted_at is None:
        message.deleted_at, message.deleted_by_id = utcnow(), user.id
        audit.record(user, "chat.delete", message, before={"body": message.body})
        emit(show, "chat", {"message_id": message.id, "deleted": True})


def mute(user, show, user_id) -> None:
    _host_check(user, show)
    if not db.session.scalar(select(ChatMute.id).where(ChatMute.show_id == show.id, ChatMute.user_id == user_id)):
        db.session.add(ChatMute(show_id=show.id, user_id=user_id, muted_by_id=user.id))
        audit.record(user, "chat.mute", show, after={"user_id": user_id})


def recent(show, limit=50) -> list[dict]:
    from ..auth.models import User

    rows = db.session.execute(select(ChatMessage, User.display_name).join(User, User.id == ChatMessage.user_id)
                              .where(ChatMessage.show_id == show.id, ChatMessage.deleted_at.is_(None))
                              .order_by(ChatMessage.id.desc()).limit(limit)).all()
    return [message_dict(m, name) for m, name in reversed(rows)]
