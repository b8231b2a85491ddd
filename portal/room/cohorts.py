"""Who shares a room: a live webinar's run (one per start time) or an auto webinar's cohort
(everyone who chose the same scheduled start; a watch-now viewer is a cohort of one).

A cohort has the chat session its messages are stored under (`webinar_chat_messages.
session_id`: a live run's `session` id from Core, an auto cohort's key) and the channel its
room pages listen on. The live main start time keeps the webinar's own channel
(`room:<id>`); every other cohort has `room:<id>:<session>`. Webinar-wide pushes (status,
CTA, count, edits) go to `channels_of(webinar)`, each cohort rendered with its own start.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from portal.attendance.models import Attendance
from portal.core import runs
from portal.core.models import Webinar
from portal.db_types import utcnow
from portal.extensions import db
from portal.registration import choices
from portal.registration.models import Registration
from portal.room.channels import room_channel
from portal.room.kinds import kind_of

# Auto cohorts that may still have open pages: started within the recording plus this margin.
AUTO_WINDOW = timedelta(hours=2)


@dataclass(frozen=True)
class Cohort:
    """One group of viewers that sees the same room and chat."""

    session_id: str  # the chat's session (a run's `session` id, or an auto cohort key)
    starts_at: datetime | None  # their start time: countdown, lobby, which run
    channel_key: str = ""  # "" = the webinar's own channel (the live main start time)
    watch_now: bool = False
    registration_id: int | None = None  # the viewer of a watch-now cohort


def of(reg: Registration) -> Cohort:
    """The cohort a registrant belongs to."""
    webinar = reg.webinar
    start = choices.start_of(webinar, slot=reg.slot, starts_at=reg.starts_at)
    if runs.has_runs(webinar):
        return _run(webinar, reg.slot_id, start)
    watch_now = kind_of(webinar).watch_now
    if watch_now is not None and watch_now(reg):
        key = f"r{reg.registration_id}"
        return Cohort(key, start, key, watch_now=True, registration_id=reg.registration_id)
    key = f"t{int(start.timestamp())}" if start is not None else "t0"
    return Cohort(key, start, key)


def all_of(webinar: Webinar, *, now: datetime | None = None, present_only: bool = False) -> list[Cohort]:
    """Every cohort that may have open pages: each start time of a live webinar; each auto
    cohort whose start is recent enough (AUTO_WINDOW plus the recording) or still to come.
    `present_only` (pushes): watch-now cohorts only while their viewer is in the room, so a
    busy evergreen's status or CTA change is not published to every viewer of the day."""
    if runs.has_runs(webinar):
        return [_run(webinar, slot_id, at) for at, slot_id in runs.start_times(webinar)] or [_run(webinar, None, None)]
    now = now or utcnow()
    since = now - AUTO_WINDOW - timedelta(seconds=webinar.recording_duration_sec or 0)
    regs = db.session.scalars(select(Registration).where(
        Registration.webinar_id == webinar.webinar_id, Registration.starts_at >= since,
        Registration.cancelled_at.is_(None)).order_by(Registration.starts_at, Registration.registration_id))
    present = set(db.session.scalars(select(Attendance.lead_id).where(
        Attendance.webinar_id == webinar.webinar_id, Attendance.left_at.is_(None)))) if present_only else set()
    found: dict[str, Cohort] = {}
    for reg in regs:
        cohort = of(reg)
        if not (present_only and cohort.watch_now and reg.lead_id not in present):
            found.setdefault(cohort.session_id, cohort)
    return list(found.values())


def find(webinar: Webinar, session_id: str | None) -> Cohort | None:
    """The cohort a chat session names (the console's choice), if it is one of the webinar's."""
    if not session_id:
        return None
    if runs.has_runs(webinar):
        return next((c for c in all_of(webinar) if c.session_id == session_id), None)
    if is_alone(session_id):
        reg = db.session.get(Registration, int(session_id[1:]))
        if reg is not None and reg.webinar_id == webinar.webinar_id:
            return of(reg)
        return None
    return next((c for c in all_of(webinar) if c.session_id == session_id), None)


def watched(webinar: Webinar, session_id: str | None) -> Cohort | None:
    """The cohort a console watches: the one asked for, else a live webinar's running (or next)
    start time, else an auto webinar's first shared cohort (scheduled start)."""
    chosen = find(webinar, session_id)
    if chosen is not None:
        return chosen
    groups = all_of(webinar)
    if runs.has_runs(webinar):
        at = webinar.run_starts_at if webinar.status in runs.RUNNING else runs.next_start(webinar)
        return next((c for c in groups if c.starts_at == at), groups[0] if groups else None)
    shared = [c for c in groups if not c.watch_now]  # a watch-now viewer is picked, never the default
    return (shared or groups or [None])[0]


def channel_of(reg: Registration) -> str:
    """The room channel a registrant's pages listen on."""
    return room_channel(reg.webinar_id, of(reg).channel_key)


def channel_key(webinar_id: int, session_id: str | None) -> str:
    """The channel suffix of a chat session ("" for the live main time and legacy messages)."""
    if session_id is None or session_id == runs.run_session_id(webinar_id, None):
        return ""
    return session_id


def is_alone(session_id: str | None) -> bool:
    """Is this chat session a watch-now viewer's (a cohort of one)?"""
    return bool(session_id) and session_id[0] == "r" and session_id[1:].isdigit()


def session_of_key(webinar: Webinar, key: str) -> str | None:
    """The chat session a channel suffix stands for (the inverse of channel_key)."""
    if not key:
        return runs.run_session_id(webinar.webinar_id, None) if runs.has_runs(webinar) else None
    return key


def _run(webinar: Webinar, slot_id: int | None, start: datetime | None) -> Cohort:
    session_id = runs.run_session_id(webinar.webinar_id, slot_id)
    return Cohort(session_id, start, "" if slot_id is None else session_id)
