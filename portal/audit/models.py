"""The audit record: every refusal shown to someone and every moderator or status action."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.db_types import UTCDateTime, utcnow
from portal.extensions import Model

#: refusal: a PortalError shown to a user (page, fragment, JSON or socket line);
#: moderation: hide, mute, unmute, ban; status: start, stop, pause, publish, ...;
#: cta: the offer shown or hidden; link: a join link revoked, restored or re-issued.
KINDS = ("refusal", "moderation", "status", "cta", "link")


class AuditEntry(Model):
    """Who (staff user, registration / lead, client address), what (action, msgid, status),
    which webinar. Written in the transaction of the action it records (refusals: in a short
    transaction of their own, since the refused one was rolled back)."""

    __tablename__ = "audit_log"
    __table_args__ = (
        CheckConstraint("kind IN ('refusal', 'moderation', 'status', 'cta', 'link')", name="kind"),
        # The organizer's page: one webinar, newest first, optionally one kind.
        Index("ix_audit_log_webinar_kind", "webinar_id", "kind", "audit_id"),
    )

    audit_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    kind: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(40))
    webinar_id: Mapped[int | None] = mapped_column(ForeignKey("webinar.webinar_id", ondelete="CASCADE"))
    actor_user_id: Mapped[int | None] = mapped_column(Integer)
    registration_id: Mapped[int | None] = mapped_column(Integer)
    lead_id: Mapped[int | None] = mapped_column(Integer)
    client: Mapped[str | None] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(Integer)
    message: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
