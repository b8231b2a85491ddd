"""Internal chat (seed `message`: table webinar_chat_messages)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.core.models import User
from portal.db_types import UTCDateTime, utcnow
from portal.extensions import db


class ChatMessage(db.Model):
    """Internal chat (stream_type obs). External chats are never copied in."""

    __tablename__ = "webinar_chat_messages"
    __table_args__ = (
        CheckConstraint("moderation_status IN ('visible', 'hidden', 'shadowed')", name="moderation_status"),
        CheckConstraint("length(message_body) BETWEEN 1 AND 2000", name="message_body"),
        Index("ix_webinar_chat_messages_webinar_message", "webinar_id", "message_id"),
        Index("ix_webinar_chat_messages_session_message", "webinar_id", "session_id", "message_id"),
        # A page's retry of one message (socket, then HTTP) is stored once.
        Index("uq_webinar_chat_messages_client_id", "webinar_id", "author_id", "client_id", unique=True,
              sqlite_where=db.text("client_id IS NOT NULL"), postgresql_where=db.text("client_id IS NOT NULL")),
    )

    message_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    webinar_id: Mapped[int] = mapped_column(ForeignKey("webinar.webinar_id", ondelete="CASCADE"))
    # The run (live: its `session` row) or cohort (auto: portal.room.cohorts) the message
    # belongs to: only that cohort's rooms show it.
    session_id: Mapped[str | None] = mapped_column(String(36))
    author_id: Mapped[int] = mapped_column(ForeignKey("user.user_id", ondelete="CASCADE"))
    message_body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    moderation_status: Mapped[str] = mapped_column(String(16), default="visible")
    # Set only by room.chat.post_as_staff: the host style and moderation exemptions read this,
    # never the author's role (a registration must not borrow a staff account's standing).
    posted_as_host: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    client_id: Mapped[str | None] = mapped_column(String(64))  # the page's id for a retried post

    author: Mapped[User] = relationship()
