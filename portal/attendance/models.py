"""Live sessions and the attendance ledger's rows (seed `session`, `attendance`)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.attendance.rules import LEAVE_REASONS, PROGRESS_MILESTONES
from portal.core.models import User
from portal.db_types import UTCDateTime, utcnow
from portal.extensions import db

__all__ = ["LEAVE_REASONS", "PROGRESS_MILESTONES", "Attendance", "AttendanceLease", "LiveSession"]


class LiveSession(db.Model):
    """A run of a live webinar: one per start time (webinar, slot; no slot = the main time).

    Its id is `portal.core.runs.run_session_id` (Core names it in `webinar_completed`). No
    attendee, progress or position columns: a run has many attendees, and an auto session's
    progress and position live in user_meta under the seed 004 names."""

    __tablename__ = "session"
    __table_args__ = (
        CheckConstraint("session_type IN ('live', 'auto')", name="session_type"),
        Index("uq_session_webinar_id_slot_id", "webinar_id", "slot_id", unique=True),
        Index(
            "uq_session_webinar_id_no_slot",
            "webinar_id",
            unique=True,
            sqlite_where=db.text("slot_id IS NULL AND session_type = 'live'"),
            postgresql_where=db.text("slot_id IS NULL AND session_type = 'live'"),
        ),
    )

    session_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    webinar_id: Mapped[int] = mapped_column(ForeignKey("webinar.webinar_id", ondelete="CASCADE"))
    session_type: Mapped[str] = mapped_column(String(8), default="live")
    slot_id: Mapped[int | None] = mapped_column(ForeignKey("webinar_slot.slot_id", ondelete="SET NULL"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Attendance(db.Model):
    """Entered/left/completed facts. `session_id` is a live session row or an auto session id
    from user_meta (seed 004), so it is indexed rather than a foreign key."""

    __tablename__ = "attendance"
    __table_args__ = (
        CheckConstraint(
            "leave_reason IS NULL OR leave_reason IN (" + ", ".join(repr(r) for r in LEAVE_REASONS) + ")",
            name="leave_reason",
        ),
        CheckConstraint("left_at IS NULL OR left_at >= entered_at", name="interval"),
        # One open attendance per (session, lead, connection).
        Index(
            "uq_attendance_open",
            "session_id",
            "lead_id",
            "connection_id",
            unique=True,
            sqlite_where=db.text("left_at IS NULL"),
            postgresql_where=db.text("left_at IS NULL"),
        ),
        Index("ix_attendance_webinar_lead", "webinar_id", "lead_id"),
        Index("ix_attendance_session_id", "session_id"),
        # The sweeper's probes: open rows of a worker, open HTTP-presence rows by last poll.
        Index("ix_attendance_open_worker", "worker_id",
              sqlite_where=db.text("left_at IS NULL"), postgresql_where=db.text("left_at IS NULL")),
        Index("ix_attendance_open_seen", "seen_at",
              sqlite_where=db.text("left_at IS NULL"), postgresql_where=db.text("left_at IS NULL")),
    )

    attendance_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    webinar_id: Mapped[int] = mapped_column(ForeignKey("webinar.webinar_id", ondelete="CASCADE"))
    lead_id: Mapped[int] = mapped_column(ForeignKey("user.user_id", ondelete="CASCADE"))
    session_id: Mapped[str] = mapped_column(String(36))
    connection_id: Mapped[str] = mapped_column(String(64), default="page")
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    leave_reason: Mapped[str | None] = mapped_column(String(32))
    # The worker process (its lease) holding the socket of this row; NULL for rows nobody
    # holds: HTTP presence (kept alive by `seen_at`), completions, rows older than leases.
    worker_id: Mapped[str | None] = mapped_column(String(64))
    # HTTP presence only (a page living on polling): the last poll written; the sweeper closes
    # the row (timeout) when polls stop.
    seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    lead: Mapped[User] = relationship()


class AttendanceLease(db.Model):
    """A worker process's lease on the attendance rows it opened (issue 9).

    Each process renews its row every third of the lease; a sweeper in every process closes
    the open rows of a worker whose lease expired (`timeout`) or that stopped or died
    (`server_restart`), and a process starting closes its dead predecessors' rows.
    """

    __tablename__ = "attendance_lease"

    worker_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    hostname: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    renewed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Set by a worker that shut down cleanly (its rows are closed with server_restart at once).
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
