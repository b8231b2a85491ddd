"""Who may watch a replay, and what watching records.

A replay exists when a live webinar has ended and has a recording (portal.media). Its
registrants watch from their join link; when the organizer allows it, anyone with the
registration page watches too. A registrant's visit is an attendance row of the recorded
run whose connection id starts with REPLAY_PREFIX (reports tell replay visits apart by it);
the page's timeline polls keep it present (HTTP presence, closed by the sweeper as
`timeout` once the polls stop). The CTA is clicked through the room's one click function.
"""
from __future__ import annotations

import uuid

from sqlalchemy import select, update

from portal.attendance import ledger, sessions
from portal.attendance.models import Attendance, LiveSession
from portal.core.models import Status, Webinar, WebinarType
from portal.db_types import utcnow
from portal.errors import Conflict, NotFound
from portal.extensions import db
from portal.media import recordings
from portal.media.models import Recording
from portal.registration.models import Registration
from portal.replay import timeline
from portal.replay.timeline import Run
from portal.room import cta
from portal.room.access import registration_or_404

REPLAY_PREFIX = "replay:"
ENDED = (Status.finished.value, Status.archived.value)
NO_REPLAY = "There is no replay of this webinar."


def run_of(webinar: Webinar) -> Run | None:
    """The recorded run of an ended live webinar with a recording, else None."""
    if webinar.type != WebinarType.live.value or webinar.status not in ENDED:
        return None
    recording = recordings.current(webinar)
    if recording is None:
        return None
    session = db.session.get(LiveSession, recording.session_id) if recording.session_id else None
    started = (session.started_at if session else None) or webinar.started_at or recording.created_at
    ended = (session.ended_at if session else None) or webinar.finished_at
    return Run(webinar_id=webinar.webinar_id, session_id=recording.session_id, started_at=started,
               ended_at=ended, recording_id=recording.recording_id)


def for_token(token: str) -> tuple[Registration, Recording, Run]:
    """A registrant's replay (404 like any bad link when there is none)."""
    reg = registration_or_404(token)
    run = run_of(reg.webinar)
    recording = recordings.current(reg.webinar)
    if run is None or recording is None:
        raise NotFound(NO_REPLAY)
    return reg, recording, run


def public(webinar: Webinar) -> tuple[Recording, Run]:
    """The replay anyone with the registration page may watch, when the organizer allows it."""
    run = run_of(webinar)
    recording = recordings.current(webinar)
    if run is None or recording is None or not recording.public_replay:
        raise NotFound(NO_REPLAY)
    return recording, run


def has_public(webinar: Webinar) -> bool:
    recording = recordings.current(webinar)
    return bool(recording and recording.public_replay and run_of(webinar))


def enter(reg: Registration, run: Run) -> int:
    """Open this page's replay visit; returns its attendance id (the page's polls touch it)."""
    session_id = run.session_id or sessions.session_for(reg)
    row = ledger.enter(reg, session_id=session_id, connection_id=f"{REPLAY_PREFIX}{uuid.uuid4().hex}",
                       seen_at=utcnow())
    db.session.commit()
    return row.attendance_id


def touch(reg: Registration, visit_id: int | None) -> None:
    """The page is still watching: keep its replay visit open (only the lead's own replay row)."""
    if visit_id is None:
        return
    db.session.execute(update(Attendance).where(
        Attendance.attendance_id == visit_id, Attendance.lead_id == reg.lead_id,
        Attendance.webinar_id == reg.webinar_id, Attendance.left_at.is_(None),
        Attendance.connection_id.startswith(REPLAY_PREFIX)).values(seen_at=utcnow())
        .execution_options(synchronize_session=False))
    db.session.commit()


def is_replay_visit(row: Attendance) -> bool:
    """For reports: a visit of the replay, not of the live run."""
    return row.connection_id.startswith(REPLAY_PREFIX)


def replay_visits(webinar_id: int) -> list[Attendance]:
    return list(db.session.scalars(select(Attendance).where(
        Attendance.webinar_id == webinar_id, Attendance.connection_id.startswith(REPLAY_PREFIX))))


def cta_shown(run: Run, seconds: float) -> bool:
    _, states = timeline.at(run, seconds)
    return any(item.key == "cta" and item.context.get("visible") for item in states)


def click_cta(reg: Registration, run: Run, recording: Recording, seconds: float) -> str:
    """A click on the replay's CTA at `seconds`: refused unless it was shown then."""
    if not 0 <= seconds <= recording.duration_sec + 1 or not cta_shown(run, seconds):
        raise Conflict("This offer is not available right now.")
    return cta.click(reg, replay_at=int(seconds))
