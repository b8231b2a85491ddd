"""Q&A (issue 13): questions, one vote per attendee per question, the per-webinar setting."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.core.models import User
from portal.db_types import UTCDateTime, utcnow
from portal.extensions import db

#: pending: waits for a host's approval (moderated webinar); visible: everyone sees it;
#: shadowed: its author was muted, only they see it; hidden: a host hid it, only its author sees it.
MODERATION = ("pending", "visible", "shadowed", "hidden")
#: open, answering (the host is on it now: highlighted for everyone), answered.
ANSWER_STATES = ("open", "answering", "answered")


class Question(db.Model):
    """An attendee's question to the hosts of a webinar."""

    __tablename__ = "webinar_questions"
    __table_args__ = (
        CheckConstraint("moderation_status IN ('pending', 'visible', 'shadowed', 'hidden')", name="moderation_status"),
        CheckConstraint("answer_state IN ('open', 'answering', 'answered')", name="answer_state"),
        CheckConstraint("length(body) BETWEEN 1 AND 2000", name="body"),
        CheckConstraint("votes >= 0", name="votes"),
        Index("ix_webinar_questions_webinar_votes", "webinar_id", "votes"),
        Index("ix_webinar_questions_webinar_author", "webinar_id", "author_id"),
    )

    question_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    webinar_id: Mapped[int] = mapped_column(ForeignKey("webinar.webinar_id", ondelete="CASCADE"))
    author_id: Mapped[int] = mapped_column(ForeignKey("user.user_id", ondelete="CASCADE"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    moderation_status: Mapped[str] = mapped_column(String(16), default="visible")
    answer_state: Mapped[str] = mapped_column(String(16), default="open", server_default="open")
    answer_body: Mapped[str | None] = mapped_column(Text)  # a host's written answer (auto: the asker's only)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The count of question_votes rows, kept in the voting transaction: the list sorts by it.
    votes: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    author: Mapped[User] = relationship()


class QuestionVote(db.Model):
    """One upvote: at most one per attendee (lead) per question."""

    __tablename__ = "webinar_question_votes"
    __table_args__ = (UniqueConstraint("question_id", "lead_id", name="uq_webinar_question_votes_lead"),)

    vote_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("webinar_questions.question_id", ondelete="CASCADE"))
    lead_id: Mapped[int] = mapped_column(ForeignKey("user.user_id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class QaSettings(db.Model):
    """A webinar's Q&A setting (a row only once an organizer or host changed it)."""

    __tablename__ = "webinar_qa_settings"

    webinar_id: Mapped[int] = mapped_column(ForeignKey("webinar.webinar_id", ondelete="CASCADE"), primary_key=True)
    # Questions wait in the console until a host approves them.
    moderated: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
