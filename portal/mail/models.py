"""The mail ledger: one row per (registration, kind, occurrence), written with its cause."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from portal.db_types import UTCDateTime, utcnow
from portal.extensions import db

QUEUED, SENDING, SENT, FAILED, KEPT, SKIPPED = "queued", "sending", "sent", "failed", "kept", "skipped"
STATUSES = (QUEUED, SENDING, SENT, FAILED, KEPT, SKIPPED)


class MailMessage(db.Model):
    """One message to one registrant.

    `status`: queued (due at `next_attempt_at`) → sending (claimed by `claim_token` until
    `claimed_until`) → sent | failed (5xx, refused address, attempts used up) | kept (no SMTP
    configured: rendered and kept for /admin/mail) | skipped (not sent on purpose: unsubscribed,
    rescheduled, already in the room — `last_answer` says why). `context` (JSON) with the kind, language and
    `created_at` re-renders the message; `raw` is the whole RFC 5322 message once rendered.
    """

    __tablename__ = "mail_message"
    __table_args__ = (
        UniqueConstraint("registration_id", "kind", "occurrence"),
        Index("ix_mail_message_due", "status", "next_attempt_at"),
        Index("ix_mail_message_webinar_created", "webinar_id", "created_at"),
        Index("ix_mail_message_webinar_kind", "webinar_id", "kind"),  # was_cancelled, per message sent
    )

    message_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    registration_id: Mapped[int] = mapped_column(
        ForeignKey("registration.registration_id", ondelete="CASCADE"), index=True)
    webinar_id: Mapped[int] = mapped_column(ForeignKey("webinar.webinar_id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    occurrence: Mapped[str] = mapped_column(String(64))
    recipient: Mapped[str] = mapped_column(String(320))
    recipient_name: Mapped[str] = mapped_column(String(200), default="")
    language: Mapped[str] = mapped_column(String(8), default="en")
    context: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    subject: Mapped[str] = mapped_column(String(300), default="")
    raw: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(8), default=QUEUED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claim_token: Mapped[str | None] = mapped_column(String(32))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_answer: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
