"""Reaction counts per webinar, minute and reaction (not one row per tap: see service.py)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.db_types import UTCDateTime
from portal.extensions import Model

REACTIONS = ("like", "love", "clap", "laugh", "wow")


class ReactionCount(Model):
    """Taps of one reaction in one webinar during one UTC minute, added up by every worker."""

    __tablename__ = "webinar_reaction_count"
    __table_args__ = (
        CheckConstraint("reaction IN ('like', 'love', 'clap', 'laugh', 'wow')", name="reaction"),
        CheckConstraint("taps >= 0", name="taps"),
    )

    webinar_id: Mapped[int] = mapped_column(ForeignKey("webinar.webinar_id", ondelete="CASCADE"), primary_key=True)
    minute: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    reaction: Mapped[str] = mapped_column(String(16), primary_key=True)
    taps: Mapped[int] = mapped_column(Integer, default=0)
