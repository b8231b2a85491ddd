"""The AutoWebinar runtime (seed 004, SPEC §5): enter, watch (heartbeats), leave, re-enter,
completion and the CTA of one attendee's evergreen session. Plain Python; `now` is injectable.

- enter: create `autowebinar_session_id` on the first entry (reuse after), set
  `autowebinar_started_at` when the session is new (the registration's chosen start, or now for
  "watch now"), touch `autowebinar_last_seen_at`; open the attendance row of the connection.
- watching: positions are checked against the live point and queued in memory
  (portal.autowebinar.heartbeats); the flusher writes position, last seen and milestones.
- leave: position and last seen are written at once; the connection's attendance row closes.
- re-enter: the session, its start, progress and completion are kept; the page offers to
  continue from `autowebinar_last_position_sec`.
Status: `live` opens the evergreen (new sessions may begin); `finished` closes it: no new
sessions, no writes, sessions in progress see the end screen.
"""
from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import select

from portal import timefmt
from portal.attendance import ledger
from portal.attendance.models import Attendance
from portal.autowebinar import cache, progress, schedule, store
from portal.autowebinar.state import current
from portal.core.models import CtaVisibility, Status, Webinar, WebinarType
from portal.core.permissions import Action, require
from portal.db_types import utcnow
from portal.errors import Conflict, Forbidden, NotFound
from portal.extensions import db
from portal.registration.models import Registration

log = logging.getLogger(__name__)

OPEN = Status.live.value  # new sessions may begin
RUNNING = (Status.live.value, Status.paused.value)  # existing sessions may come back
CLOSED = (Status.finished.value, Status.archived.value)
ACTIVE_WINDOW_SEC = 12.0  # a viewer heard this recently is still playing (heartbeats every 5 s)


@dataclass(frozen=True)
class Sync:
    """What the server tells the player after a heartbeat (also the HTTP JSON answer)."""

    accepted: bool
    status: str
    session_id: str | None = None
    started_at: datetime | None = None
    position: int | None = None
    live_point: float | None = None
    duration: int | None = None
    progress: int = 0
    completed: bool = False
    cta: bool = False
    code: str = "ok"
    message: str = ""
    server_now: datetime | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "accepted": self.accepted,
            "status": self.status,
            "session_id": self.session_id,
            "started_at": store.encode(self.started_at) if self.started_at else None,
            "position": self.position,
            "live_point": round(self.live_point, 3) if self.live_point is not None else None,
            "duration": self.duration,
            "progress": self.progress,
            "completed": self.completed,
            "cta": self.cta,
            "code": self.code,
            "message": self.message,
            "server_now": timefmt.iso_utc(self.server_now),
        }


# --- reading ---------------------------------------------------------------------------------

def session_start(reg: Registration, *, now: datetime) -> datetime:
    """When a new session of this registration starts: its chosen time, or now for watch-now."""
    if schedule.is_watch_now_start(reg.starts_at):
        return now
    assert reg.starts_at is not None
    return reg.starts_at


def facts_for(reg: Registration) -> cache.Facts:
    facts = current().cache.facts(reg.webinar_id)
    if facts is None or facts.type != WebinarType.auto.value:
        raise NotFound("This is not an auto webinar.")
    return facts


def cta_shown(facts: cache.Facts, position: float | None) -> bool:
    """CTA rule for auto webinars: Core says visible AND the viewer reached cta_at_sec."""
    if facts.cta_visibility != CtaVisibility.visible.value or not facts.cta_ready:
        return False
    if facts.status == Status.draft.value:
        return False
    return (position or 0) >= facts.cta_at_sec


def estimated_position(viewer: cache.Viewer | None, facts: cache.Facts, *, now: datetime) -> float | None:
    """Where a viewer is now: the last heard position, plus the time since while they are
    actively beating (a player moves on between heartbeats), never past the live point."""
    if viewer is None or viewer.position is None:
        return None
    position = float(viewer.position)
    if viewer.position_at is not None:
        since = (now - viewer.position_at).total_seconds()
        if 0 < since <= ACTIVE_WINDOW_SEC:
            position += since
    return min(position, progress.live_point(viewer.started_at, facts.duration_sec, now=now))


def cta_visible(reg: Registration, webinar: Webinar, *, now: datetime | None = None) -> bool:
    """The auto RoomKind's CTA rule (page render, snapshot, click check): does this viewer's
    CTA show now?"""
    now = now or utcnow()
    facts = current().cache.remember_facts(webinar)
    viewer = current().cache.load_viewer(reg.lead_id, reg.webinar_id, reg.registration_id)
    return cta_shown(facts, estimated_position(viewer, facts, now=now))


# --- enter -----------------------------------------------------------------------------------

def enter(reg: Registration, *, connection_id: str, now: datetime | None = None) -> cache.Viewer:
    """Enter the room on one connection and commit (see the module docstring for the rules)."""
    now = now or utcnow()
    webinar = db.session.get(Webinar, reg.webinar_id, populate_existing=True)
    if webinar is None or webinar.type != WebinarType.auto.value:
        raise NotFound("This is not an auto webinar.")
    require(reg, Action.ENTER_ROOM, webinar)
    facts = current().cache.remember_facts(webinar)
    state = store.load(reg.lead_id, reg.webinar_id)
    if facts.status in CLOSED:
        raise Conflict("This webinar has ended.", details={"status": facts.status, "reason": "closed"})
    if state.session_id is None or state.started_at is None:
        if facts.status != OPEN:
            raise Conflict("This webinar is not open yet.", details={"status": facts.status, "reason": "not_open"})
        start = session_start(reg, now=now)
        if start > now:
            raise Conflict("Your session has not started yet.",
                           details={"status": facts.status, "reason": "not_started", "starts_at": store.encode(start)})
        # Another tab may win either race: keep whatever is stored.
        session_id = store.put_if_absent(reg.lead_id, reg.webinar_id, "session_id", str(uuid.uuid4()))
        started_raw = store.put_if_absent(reg.lead_id, reg.webinar_id, "started_at", start)
        state = replace(state, session_id=session_id, started_at=store.decode_time(started_raw))
        log.info("lead %s auto session %s in webinar %s starts %s", reg.lead_id, session_id, reg.webinar_id,
                 started_raw)
    elif facts.status not in RUNNING:
        raise Conflict("This webinar is not open.", details={"status": facts.status, "reason": "not_open"})
    store.put(reg.lead_id, reg.webinar_id, {"last_seen_at": now})
    ledger.enter(reg, session_id=state.session_id, connection_id=connection_id)
    db.session.commit()
    return current().cache.remember_viewer(cache.Viewer(
        lead_id=reg.lead_id, webinar_id=reg.webinar_id, registration_id=reg.registration_id,
        session_id=state.session_id, started_at=state.started_at,
        progress=-1 if state.progress_percent is None else state.progress_percent,
        completed=state.completed, position=state.last_position_sec, position_at=state.last_seen_at,
    ))


# --- watching --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Accepted:
    """A heartbeat that passed every check, applied to the viewer in memory, ready to queue."""

    viewer: cache.Viewer
    position: int
    milestone: int | None  # a newly reached milestone to store
    completes: bool  # this heartbeat completes the session
    sync: Sync


def validate_heartbeat(reg: Registration, payload: dict[str, Any], *,
                       now: datetime) -> tuple[float, cache.Facts, cache.Viewer | None]:
    """Check one heartbeat of `reg` without writing anything: its own webinar and session
    only, the evergreen running, the position a number between 0 and the live point.
    Reads only ids from `reg` while the viewer is in memory (a socket's heartbeat then needs
    no database at all); access itself was checked when the socket or request was admitted.

    `payload`: {"position": seconds, "webinar_id": int, "session_id": str} (webinar and session
    may be omitted by a brand-new viewer whose session does not exist yet). Returns the
    position, the webinar facts and the viewer (None when the session is still to be created).
    """
    claimed_webinar = payload.get("webinar_id")
    if claimed_webinar not in (None, "") and str(claimed_webinar) != str(reg.webinar_id):
        raise Forbidden("This heartbeat is for another webinar.", details={"reason": "other_webinar"})
    facts = facts_for(reg)
    position = progress.parse_position(payload.get("position"))
    if facts.status not in RUNNING:
        raise Conflict("The webinar is not running.", details={"status": facts.status, "reason": "not_running"})
    viewer = current().cache.load_viewer(reg.lead_id, reg.webinar_id, reg.registration_id)
    claimed_session = payload.get("session_id")
    if claimed_session not in (None, "") and (viewer is None or claimed_session != viewer.session_id):
        raise Forbidden("This heartbeat is for another session.", details={"reason": "other_session"})
    started_at = viewer.started_at if viewer is not None else session_start(reg, now=now)
    if now < started_at:
        raise Conflict("Your session has not started yet.", details={"status": facts.status, "reason": "not_started"})
    live = progress.live_point(started_at, facts.duration_sec, now=now)
    progress.check_position(position, live=live, duration_sec=facts.duration_sec)
    return position, facts, viewer


def apply_heartbeat(viewer: cache.Viewer, position: float, facts: cache.Facts, *, now: datetime) -> Accepted:
    """Record a validated position on the in-memory viewer: milestones once, never backwards."""
    live = progress.live_point(viewer.started_at, facts.duration_sec, now=now)
    seconds = progress.check_position(position, live=live, duration_sec=facts.duration_sec)
    reached = progress.milestone(min(position, facts.duration_sec), facts.duration_sec)
    new_milestone = reached if reached > viewer.progress else None
    completes = reached == 100 and not viewer.completed
    viewer.progress = max(viewer.progress, reached)
    viewer.completed = viewer.completed or completes
    viewer.position = seconds
    viewer.position_at = now
    sync = Sync(
        accepted=True, status=facts.status, session_id=viewer.session_id, started_at=viewer.started_at,
        position=seconds, live_point=live, duration=facts.duration_sec, progress=max(viewer.progress, 0),
        completed=viewer.completed, cta=cta_shown(facts, seconds), server_now=now,
    )
    return Accepted(viewer, seconds, new_milestone, completes, sync)


def refused(error: Exception, *, now: datetime, status: str | None = None) -> Sync:
    """The Sync answer of a refused heartbeat (socket path; HTTP answers the error itself)."""
    details = getattr(error, "details", {}) or {}
    return Sync(accepted=False, status=details.get("status") or status or "", code=details.get("reason") or getattr(
        error, "code", "refused"), message=getattr(error, "message", str(error)), server_now=now)


# --- leave and the CTA -----------------------------------------------------------------------

def close_connection(reg: Registration, *, session_id: str, connection_id: str, reason: str = "left") -> bool:
    """Close one connection's attendance row in the caller's transaction."""
    return ledger.leave(reg, session_id=session_id, connection_id=connection_id, reason=reason)


def record_cta_click(reg: Registration, *, now: datetime | None = None) -> bool:
    """Set `autowebinar_cta_clicked_at` on the first click only; True when this was the first.

    Writes into the caller's transaction and commits nothing. It emits NO event:
    `client_webinar_cta_clicked` is emitted once, by the room's CTA click service (the
    POST /room/<token>/cta view's one domain call), which calls this first for auto webinars.
    """
    now = now or utcnow()
    if reg.webinar_type != WebinarType.auto.value:
        return False
    return store.set_once(reg.lead_id, reg.webinar_id, "cta_clicked_at", now)


def finish(webinar: Webinar) -> int:
    """Inside the stop transaction of an auto webinar: close every open attendance row
    (reason webinar_finished). Returns how many leads were closed."""
    lead_ids = set(db.session.scalars(
        select(Attendance.lead_id).where(Attendance.webinar_id == webinar.webinar_id, Attendance.left_at.is_(None))
    ))
    if not lead_ids:
        return 0
    regs = db.session.scalars(
        select(Registration).where(Registration.webinar_id == webinar.webinar_id, Registration.lead_id.in_(lead_ids))
    ).all()
    closed: set[int] = set()
    for reg in regs:
        if reg.lead_id not in closed and ledger.leave_everywhere(reg, reason="webinar_finished"):
            closed.add(reg.lead_id)
    return len(closed)


def on_status_changing(webinar: Webinar, *, from_status: str, to_status: str, **_: Any) -> None:
    """Core's stop of an auto webinar: attendances close in the same transaction."""
    if webinar.type == WebinarType.auto.value and to_status == Status.finished.value:
        count = finish(webinar)
        log.info("auto webinar %s finished: %s attendees left", webinar.webinar_id, count)

