"""Polls (issue 13): a host's question with 2-10 options, and one answer per attendee."""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db_types import UTCDateTime, utcnow
from portal.extensions import db


class PollStatus(enum.StrEnum):
    draft = "draft"  # prepared, attendees see nothing
    open = "open"  # answers taken (auto webinars: from its video time on, per viewer)
    closed = "closed"  # no answers; results shown when the poll allows


class ResultsMode(enum.StrEnum):
    live = "live"  # attendees see the results while the poll is open
    after_close = "after_close"  # attendees see them once it is closed


class Poll(db.Model):
    """One poll of one webinar, prepared in the console."""

    __tablename__ = "poll"
    __table_args__ = (
        CheckConstraint("status IN ('draft', 'open', 'closed')", name="status"),
        CheckConstraint("results_mode IN ('live', 'after_close')", name="results_mode"),
        CheckConstraint("length(question) BETWEEN 1 AND 300", name="question"),
        CheckConstraint("at_sec IS NULL OR at_sec >= 0", name="at_sec"),
        CheckConstraint("open_sec IS NULL OR open_sec > 0", name="open_sec"),
        Index("ix_poll_webinar", "webinar_id", "poll_id"),
    )

    poll_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    webinar_id: Mapped[int] = mapped_column(ForeignKey("webinar.webinar_id", ondelete="CASCADE"))
    question: Mapped[str] = mapped_column(Text)
    multiple: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    results_mode: Mapped[str] = mapped_column(String(16), default=ResultsMode.live.value)
    status: Mapped[str] = mapped_column(String(16), default=PollStatus.draft.value)
    # Auto webinars (timed interaction): it opens at this point of the recording for each
    # viewer and takes answers for open_sec seconds of it; None on live webinars.
    at_sec: Mapped[int | None] = mapped_column(Integer)
    open_sec: Mapped[int | None] = mapped_column(Integer)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("user.user_id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    options: Mapped[list[PollOption]] = relationship(
        back_populates="poll", order_by="PollOption.position", cascade="all, delete-orphan")

    @property
    def is_open(self) -> bool:
        return self.status == PollStatus.open.value

    @property
    def is_closed(self) -> bool:
        return self.status == PollStatus.closed.value

    @property
    def timed(self) -> bool:
        return self.at_sec is not None

    @property
    def results_public(self) -> bool:
        """Attendees may see the results now (a closed poll always, an open one when live)."""
        return self.is_closed or (self.is_open and self.results_mode == ResultsMode.live.value)


class PollOption(db.Model):
    __tablename__ = "poll_option"
    __table_args__ = (
        CheckConstraint("length(label) BETWEEN 1 AND 200", name="label"),
        Index("ix_poll_option_poll", "poll_id", "position"),
    )

    option_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    poll_id: Mapped[int] = mapped_column(ForeignKey("poll.poll_id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    label: Mapped[str] = mapped_column(Text)

    poll: Mapped[Poll] = relationship(back_populates="options")


class PollVote(db.Model):
    """One chosen option of one attendee's answer (a multiple-choice answer has several rows).
    Changing the answer replaces the attendee's rows of the poll."""

    __tablename__ = "poll_vote"
    __table_args__ = (
        Index("uq_poll_vote", "poll_id", "lead_id", "option_id", unique=True),
        Index("ix_poll_vote_results", "poll_id", "cohort", "option_id"),
    )

    vote_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    poll_id: Mapped[int] = mapped_column(ForeignKey("poll.poll_id", ondelete="CASCADE"))
    option_id: Mapped[int] = mapped_column(ForeignKey("poll_option.option_id", ondelete="CASCADE"))
    lead_id: Mapped[int] = mapped_column(ForeignKey("user.user_id", ondelete="CASCADE"))
    registration_id: Mapped[int] = mapped_column(ForeignKey("registration.registration_id", ondelete="CASCADE"))
    # Whose results it counts in: "" on a live webinar; an auto webinar's cohort (the start
    # its viewer chose, or their own watch-now session) — see portal.polls.timing.
    cohort: Mapped[str] = mapped_column(String(64), default="", server_default="")
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
