"""Recordings (issue 12/13): the video an auto webinar plays, or the replay of a live run."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column

from portal.db_types import UTCDateTime, utcnow
from portal.extensions import db

SOURCES = ("upload", "link")


class Recording(db.Model):
    """One webinar's current recording: uploaded (a file in RECORDINGS_DIR) or linked."""

    __tablename__ = "media_recording"
    __table_args__ = (
        CheckConstraint("source IN ('upload', 'link')", name="source"),
        CheckConstraint("duration_sec > 0", name="duration_sec"),
        Index("uq_media_recording_webinar_id", "webinar_id", unique=True),
    )

    recording_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    webinar_id: Mapped[int] = mapped_column(ForeignKey("webinar.webinar_id", ondelete="CASCADE"))
    # The live run it records (a replay's chat and CTA are read from that run); None for auto.
    session_id: Mapped[str | None] = mapped_column(String(36))
    source: Mapped[str] = mapped_column(String(8))
    url: Mapped[str] = mapped_column(String(2000))  # what the player loads (a served path for uploads)
    stored_name: Mapped[str | None] = mapped_column(String(64))  # the file under RECORDINGS_DIR
    original_name: Mapped[str] = mapped_column(String(255), default="")
    duration_sec: Mapped[int] = mapped_column(Integer)
    size_bytes: Mapped[int | None] = mapped_column(Integer)
    # Replays: anyone with the registration page may watch, not only registrants.
    public_replay: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("user.user_id", ondelete="SET NULL"))
