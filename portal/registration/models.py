"""Registration ledger (seed `registration`)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.core.models import User, Webinar, WebinarSlot
from portal.db_types import UTCDateTime, utcnow
from portal.extensions import db


class Registration(db.Model):
    """One lead registered for one webinar (and slot). The join token is stored hashed."""

    __tablename__ = "registration"
    __table_args__ = (
        CheckConstraint("webinar_type IN ('live', 'auto')", name="webinar_type"),
        # One registration per (webinar, lead, slot); a partial index covers "no slot",
        # because NULLs never collide in a plain unique constraint.
        UniqueConstraint("webinar_id", "lead_id", "slot_id"),
        Index(
            "uq_registration_webinar_id_lead_id_no_slot",
            "webinar_id",
            "lead_id",
            unique=True,
            sqlite_where=db.text("slot_id IS NULL"),
            postgresql_where=db.text("slot_id IS NULL"),
        ),
        Index("ix_registration_webinar_registered_at", "webinar_id", "registered_at"),
        CheckConstraint("state IN ('confirmed', 'pending', 'declined', 'waitlisted')", name="state"),
    )

    registration_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    webinar_id: Mapped[int] = mapped_column(ForeignKey("webinar.webinar_id", ondelete="CASCADE"))
    lead_id: Mapped[int] = mapped_column(ForeignKey("user.user_id", ondelete="CASCADE"), index=True)
    webinar_type: Mapped[str] = mapped_column(String(8))
    slot_id: Mapped[int | None] = mapped_column(ForeignKey("webinar_slot.slot_id", ondelete="SET NULL"))
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # auto: the chosen start
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    source: Mapped[str] = mapped_column(String(120), default="")
    join_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    banned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    chat_muted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # issue 10 (mail core): the language the registration page was shown in ("en" | "ru");
    # mails to this registrant are written in it. NULL (older rows): the portal's default.
    language: Mapped[str | None] = mapped_column(String(8))
    # issue 10: the registering browser's IANA zone (None: the webinar's) for times in mails,
    # and the one-click unsubscribe from reminder mails (portal.mail.reminders).
    timezone: Mapped[str | None] = mapped_column(String(64))
    reminders_unsubscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # issue 12: the registrant cancelled their seat (kept for reports; no access, no reminders).
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # issue 12 (organizer, migration d2b3c4e5f60b): `state` (STATES) — only a confirmed
    # registration opens the room; pending waits for the organizer's approval, declined was
    # refused, waitlisted asked to be told when a seat frees up (a full start time). `answers`:
    # the registration questions' answers, {str(question_id): str}.
    state: Mapped[str] = mapped_column(String(16), default="confirmed", server_default="confirmed")
    answers: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    webinar: Mapped[Webinar] = relationship()
    lead: Mapped[User] = relationship()
    slot: Mapped[WebinarSlot | None] = relationship()

    @property
    def has_access(self) -> bool:
        return (self.revoked_at is None and self.banned_at is None and self.cancelled_at is None
                and self.state == CONFIRMED)


CONFIRMED, PENDING, DECLINED, WAITLISTED = "confirmed", "pending", "declined", "waitlisted"
STATES = (CONFIRMED, PENDING, DECLINED, WAITLISTED)
#: The states that hold a seat of a start time (capacity counts them).
SEATED = (CONFIRMED, PENDING)
QUESTION_KINDS = ("text", "choice", "checkbox")


class RegistrationQuestion(db.Model):
    """An extra field of a webinar's registration form, defined by its organizer."""

    __tablename__ = "registration_question"
    __table_args__ = (
        CheckConstraint("kind IN ('text', 'choice', 'checkbox')", name="kind"),
        Index("ix_registration_question_webinar_position", "webinar_id", "position"),
    )

    question_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    webinar_id: Mapped[int] = mapped_column(ForeignKey("webinar.webinar_id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer, default=0)
    label: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16), default="text")
    options: Mapped[list[str] | None] = mapped_column(JSON)  # choice: the answers offered
    required: Mapped[bool] = mapped_column(Boolean, default=False)
