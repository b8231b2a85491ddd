"""The attendance CSV (one row per visit) and the chat export CSV (issue 12, point 6).

Both stream in keyset-paginated chunks like the registrations CSV (portal.admin.exports),
with the same BOM and formula escaping; times in UTC."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal import timefmt
from portal.admin.exports import CHUNK_ROWS, Words, csv_text, escape_cell
from portal.attendance.models import Attendance
from portal.core.models import User, Webinar
from portal.extensions import db
from portal.room.models import ChatMessage

REASONS = {"": _l("still in the room"), "left": _l("left"), "disconnected": _l("connection lost"),
           "webinar_finished": _l("webinar finished"), "banned": _l("banned"), "revoked": _l("access revoked"),
           "timeout": _l("timed out"), "server_restart": _l("server restart")}


def _utc(value: datetime | None) -> str:
    return timefmt.wall_time(value, seconds=True)


def attendance_csv(webinar: Webinar, *, now: datetime) -> Iterator[str]:
    """Name, email, join, leave, duration, how the visit ended, completed, session."""
    words = Words.current()
    header = [str(_l("Name")), str(_l("Email")), f"{_l('Joined')} (UTC)", f"{_l('Left')} (UTC)",
              str(_l("Duration")), str(_l("Reason")), str(_l("Completed")), str(_l("Session"))]
    reasons = {key: str(label) for key, label in REASONS.items()}

    def rows() -> Iterator[list[list[str]]]:
        last = 0
        while True:
            chunk = db.session.execute(
                select(Attendance.attendance_id, User.display_name, User.email, Attendance.entered_at,
                       Attendance.left_at, Attendance.leave_reason, Attendance.completed_at, Attendance.session_id)
                .join(User, User.user_id == Attendance.lead_id)
                .where(Attendance.webinar_id == webinar.webinar_id, Attendance.attendance_id > last)
                .order_by(Attendance.attendance_id).limit(CHUNK_ROWS)).all()
            if not chunk:
                return
            yield [[escape_cell(name), escape_cell(email), _utc(entered), _utc(left),
                    timefmt.clock(int(((left or now) - entered).total_seconds()), hours=True),
                    reasons.get(reason or "", reason or ""), words(completed is not None), session]
                   for _, name, email, entered, left, reason, completed, session in chunk]
            last = chunk[-1][0]

    return csv_text(header, rows())


def chat_csv(webinar: Webinar) -> Iterator[str]:
    """Every chat message in order: time, author, email, host or attendee, status, text."""
    header = [f"{_l('Time')} (UTC)", str(_l("Author")), str(_l("Email")), str(_l("Role")), str(_l("Status")),
              str(_l("Message"))]
    host, attendee = str(_l("host")), str(_l("attendee"))

    def rows() -> Iterator[list[list[str]]]:
        last = 0
        while True:
            chunk = db.session.execute(
                select(ChatMessage.message_id, ChatMessage.created_at, User.display_name, User.email,
                       ChatMessage.posted_as_host, ChatMessage.moderation_status, ChatMessage.message_body)
                .join(User, User.user_id == ChatMessage.author_id)
                .where(ChatMessage.webinar_id == webinar.webinar_id, ChatMessage.message_id > last)
                .order_by(ChatMessage.message_id).limit(CHUNK_ROWS)).all()
            if not chunk:
                return
            yield [[_utc(at), escape_cell(name), escape_cell(email), host if as_host else attendee, status,
                    escape_cell(body)]
                   for _, at, name, email, as_host, status, body in chunk]
            last = chunk[-1][0]

    return csv_text(header, rows())
