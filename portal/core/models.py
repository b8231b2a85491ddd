"""Core entities: users and leads, user_meta, webinars, slots, speakers, API tokens, the outbox.

Field names follow seed 000 verbatim. `status` and `cta_visibility` are guarded: only
portal.core.lifecycle may change them (see portal.core.guard).
"""
from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal import timefmt
from portal.db_types import UTCDateTime, utcnow
from portal.extensions import Model


def _check_in(column: str, values: type[enum.Enum] | tuple[str, ...]) -> str:
    items = [v.value for v in values] if isinstance(values, type) else list(values)
    return f"{column} IN ({', '.join(repr(v) for v in items)})"


class Role(enum.StrEnum):
    """Global account role; `speaker` is per webinar on top of a speaker account."""

    admin = "admin"
    organizer = "organizer"
    speaker = "speaker"
    lead = "lead"


class WebinarType(enum.StrEnum):
    live = "live"
    auto = "auto"


class Status(enum.StrEnum):
    draft = "draft"
    scheduled = "scheduled"
    live = "live"
    paused = "paused"
    finished = "finished"
    archived = "archived"


class CtaVisibility(enum.StrEnum):
    hidden = "hidden"
    visible = "visible"


class StreamType(enum.StrEnum):
    obs = "obs"
    zoom = "zoom"
    telegram = "telegram"
    youtube = "youtube"  # embedded players (portal.media.players): the chat stays in the portal
    vimeo = "vimeo"


class User(UserMixin, Model):
    """Core users (staff) and leads (attendees) share one table, like WordPress users."""

    __tablename__ = "user"
    __table_args__ = (CheckConstraint(_check_in("role", Role), name="role"),)

    user_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(16), default=Role.lead.value)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    is_disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Bumped to end every session of the user (logout, password reset, role change, disabling):
    # it is part of get_id(), so of the session and remember cookies, and the loader compares it.
    session_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    def get_id(self) -> str:
        return f"{self.user_id}:{self.session_version}"

    @property
    def is_active(self) -> bool:  # Flask-Login refuses disabled accounts
        return not self.is_disabled

    @property
    def is_staff(self) -> bool:
        return self.role in (Role.admin.value, Role.organizer.value, Role.speaker.value)

    def __repr__(self) -> str:
        return f"<User {self.user_id} {self.email} {self.role}>"


class UserMeta(Model):
    """Key/value store per user (seed 004 keeps AutoWebinar state here)."""

    __tablename__ = "user_meta"
    __table_args__ = (UniqueConstraint("user_id", "meta_key"),)

    umeta_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.user_id", ondelete="CASCADE"))
    meta_key: Mapped[str] = mapped_column(String(191))
    meta_value: Mapped[str | None] = mapped_column(Text)


class Webinar(Model):
    """Seed `webinar` (CPT webinar_event) with real columns instead of post_meta."""

    __tablename__ = "webinar"
    __table_args__ = (
        CheckConstraint(_check_in("type", WebinarType), name="type"),
        CheckConstraint(_check_in("status", Status), name="status"),
        CheckConstraint(_check_in("cta_visibility", CtaVisibility), name="cta_visibility"),
        CheckConstraint(_check_in("stream_type", StreamType), name="stream_type"),
        CheckConstraint("chat_lobby_minutes >= 0", name="chat_lobby_minutes"),
        CheckConstraint("cta_at_sec IS NULL OR cta_at_sec >= 0", name="cta_at_sec"),
        # issue 12 (organizer): seats per start time and the live completion share.
        CheckConstraint("capacity IS NULL OR capacity > 0", name="capacity"),
        CheckConstraint("completion_percent BETWEEN 1 AND 100", name="completion_percent"),
        Index("ix_webinar_status_scheduled_at", "status", "scheduled_at"),
    )

    webinar_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    type: Mapped[str] = mapped_column(String(8), default=WebinarType.live.value)
    status: Mapped[str] = mapped_column(String(16), default=Status.draft.value)
    title: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    scheduled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    duration_minutes: Mapped[int] = mapped_column(Integer, default=60)
    cta_visibility: Mapped[str] = mapped_column(String(8), default=CtaVisibility.hidden.value)
    cta_text: Mapped[str] = mapped_column(String(200), default="")
    cta_url: Mapped[str] = mapped_column(String(2000), default="")
    cta_at_sec: Mapped[int | None] = mapped_column(Integer)  # auto: CTA appears at this position
    stream_type: Mapped[str] = mapped_column(String(16), default=StreamType.obs.value)
    stream_url: Mapped[str] = mapped_column(String(2000), default="")
    external_chat_ref: Mapped[str] = mapped_column(String(2000), default="")
    chat_lobby_minutes: Mapped[int] = mapped_column(Integer, default=15)
    show_attendee_count: Mapped[bool] = mapped_column(Boolean, default=True)
    recording_url: Mapped[str] = mapped_column(String(2000), default="")  # auto
    recording_duration_sec: Mapped[int | None] = mapped_column(Integer)  # auto
    auto_schedule: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # auto: evergreen rule
    calendar_sequence: Mapped[int] = mapped_column(Integer, default=0)  # .ics SEQUENCE
    owner_user_id: Mapped[int] = mapped_column(ForeignKey("user.user_id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Live: the start time (scheduled_at or a slot's) whose run is live or ran last; written
    # by Core's start hook only (portal.core.runs). Guarded like status.
    run_starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Reminder mails (issue 10, portal.mail.reminders): live 24 h / 1 h before and "we are
    # live"; auto 1 h before and at the chosen start (remind_1h, remind_live).
    remind_24h: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    remind_1h: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    remind_live: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # issue 12 (organizer, migration d2b3c4e5f60b): set by Core's `cancel` (scheduled ->
    # archived) so pages say "cancelled", not "ended"; seats per start time (None: no limit);
    # manual approval of registrants; the live completion rule's share of the live time.
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    capacity: Mapped[int | None] = mapped_column(Integer)
    requires_approval: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    completion_percent: Mapped[int] = mapped_column(Integer, default=50, server_default="50")

    owner: Mapped[User] = relationship(foreign_keys=[owner_user_id])
    slots: Mapped[list[WebinarSlot]] = relationship(
        back_populates="webinar", order_by="WebinarSlot.starts_at", cascade="all, delete-orphan"
    )
    speakers: Mapped[list[WebinarSpeaker]] = relationship(
        back_populates="webinar", cascade="all, delete-orphan"
    )

    @property
    def has_internal_chat(self) -> bool:
        return self.stream_type in (StreamType.obs.value, StreamType.youtube.value, StreamType.vimeo.value)

    def __repr__(self) -> str:
        return f"<Webinar {self.webinar_id} {self.slug} {self.type}/{self.status}>"


class WebinarSlot(Model):
    """A start time a live webinar is offered at."""

    __tablename__ = "webinar_slot"
    __table_args__ = (UniqueConstraint("webinar_id", "starts_at"),)

    slot_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    webinar_id: Mapped[int] = mapped_column(ForeignKey("webinar.webinar_id", ondelete="CASCADE"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    label: Mapped[str] = mapped_column(String(120), default="")

    webinar: Mapped[Webinar] = relationship(back_populates="slots")


class WebinarSpeaker(Model):
    """Per-webinar speaker role (seed `speaker`: user_id, display_name, role, webinar_id)."""

    __tablename__ = "webinar_speaker"
    __table_args__ = (
        UniqueConstraint("webinar_id", "user_id"),
        CheckConstraint("role = 'speaker'", name="role"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    webinar_id: Mapped[int] = mapped_column(ForeignKey("webinar.webinar_id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user.user_id", ondelete="CASCADE"), index=True)
    display_name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(16), default="speaker")

    webinar: Mapped[Webinar] = relationship(back_populates="speakers")
    user: Mapped[User] = relationship()


class ApiToken(Model):
    """Bearer tokens for /api/v1; only a SHA-256 of the secret is stored."""

    __tablename__ = "api_token"

    token_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.user_id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # Space-separated subset of portal.api.tokens.SCOPES ("read control webhooks"), and the
    # token's first characters so a list can tell tokens apart without the secret (migration
    # d2b3c4e5f603).
    scopes: Mapped[str] = mapped_column(String(64), default="", server_default="")
    prefix: Mapped[str] = mapped_column(String(16), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class OutboxEvent(Model):
    """Transactional outbox: every event row is written with the change it reports."""

    __tablename__ = "event_outbox"
    __table_args__ = (
        Index("ix_event_outbox_webinar_event", "webinar_id", "event"),
        # Organizer reports: "did this lead complete / click in this webinar" (migration b7d41e0c9a52).
        Index("ix_event_outbox_webinar_lead_event", "webinar_id", "lead_id", "event"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Position in COMMIT order (SPEC §6), stamped by portal.core.sequencing just before the
    # commit; NULL only inside the writing transaction, never seen by another one.
    sequence: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    event: Mapped[str] = mapped_column(String(64))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    webinar_id: Mapped[int] = mapped_column(ForeignKey("webinar.webinar_id", ondelete="CASCADE"))
    lead_id: Mapped[int | None] = mapped_column(Integer)
    session_id: Mapped[str | None] = mapped_column(String(36))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)

    def envelope(self) -> dict[str, Any]:
        """The public envelope of SPEC §6."""
        return envelope_of(event=self.event, event_id=self.event_id, sequence=self.sequence,
                           occurred_at=self.occurred_at, webinar_id=self.webinar_id, lead_id=self.lead_id,
                           session_id=self.session_id, data=self.data)


def envelope_of(*, event: str, event_id: str, sequence: int | None, occurred_at: datetime, webinar_id: int,
                lead_id: int | None, session_id: str | None, data: dict[str, Any]) -> dict[str, Any]:
    """The public envelope of SPEC §6 of one outbox row's values (a row written with Core has
    no OutboxEvent object)."""
    env: dict[str, Any] = {
        "event": event,
        "event_id": event_id,
        "sequence": sequence,
        "occurred_at": timefmt.iso_utc(occurred_at),
        "webinar_id": webinar_id,
        "data": data,
    }
    if lead_id is not None:
        env["lead_id"] = lead_id
    if session_id is not None:
        env["session_id"] = session_id
    return env


class EventCounter(Model):
    """The one row holding the last outbox `sequence` handed out (portal.core.sequencing)."""

    __tablename__ = "event_counter"
    __table_args__ = (CheckConstraint("counter_id = 1", name="single_row"),)

    counter_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_sequence: Mapped[int] = mapped_column(BigInteger, default=0)
