"""What the room page needs for an auto webinar: `context(reg, webinar)` is merged into the
room's template context and read by templates/autowebinar/_player.html.

Reading only: opening the page writes nothing (link previews and prefetches must not start a
session). The player's first heartbeat enters the room (portal.autowebinar.heartbeats).
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from portal import timefmt
from portal.autowebinar import heartbeats, progress, runtime, schedule, store
from portal.autowebinar.state import current
from portal.core.models import Status, Webinar
from portal.db_types import utcnow
from portal.registration.models import Registration

RESUME_MIN_SEC = 5  # closer to the start than this, "continue" and "start over" are the same


@dataclass(frozen=True)
class AutoRoom:
    """The auto room of one attendee at one moment."""

    phase: str  # waiting | not_open | playing | paused | ended | unavailable
    started_at: datetime
    starts_in_sec: float
    session_id: str | None
    live_point: float
    duration: int
    resume_at: int | None  # offer "continue where I left off" from here
    progress: int
    completed: bool
    cta_at: int
    cta_shown: bool
    recording_url: str
    page_id: str
    interval: int
    server_now: datetime
    watch_now: bool  # a new watch-now session starts with the first heartbeat

    @property
    def resume_label(self) -> str:
        return timefmt.clock(self.resume_at or 0)

    @property
    def live_label(self) -> str:
        return timefmt.clock(self.live_point)

    def as_data(self) -> dict[str, Any]:
        """data-* attributes of the player element (strings, read by autowebinar.js)."""
        return {
            "phase": self.phase,
            "started-at": store.encode(self.started_at),
            "server-now": timefmt.iso_utc(self.server_now),
            "session-id": self.session_id or "",
            "duration": str(self.duration),
            "resume-at": "" if self.resume_at is None else str(self.resume_at),
            "progress": str(self.progress),
            "completed": "1" if self.completed else "0",
            "cta-at": str(self.cta_at),
            "cta-shown": "1" if self.cta_shown else "0",
            "page-id": self.page_id,
            "interval": str(self.interval),
            "watch-now": "1" if self.watch_now else "0",
        }


def _phase(webinar: Webinar, *, new: bool, started_at: datetime, now: datetime) -> str:
    if webinar.status in runtime.CLOSED:
        return "ended"
    if not webinar.recording_url:
        return "unavailable"
    if started_at > now:
        return "waiting"
    if new and webinar.status != runtime.OPEN:
        return "not_open"
    if webinar.status == Status.paused.value:
        return "paused"
    if webinar.status not in runtime.RUNNING:
        return "not_open"
    return "playing"


def auto_room(reg: Registration, webinar: Webinar, *, now: datetime | None = None) -> AutoRoom:
    """The attendee's auto room state, computed from user_meta and the webinar (no writes)."""
    now = now or utcnow()
    facts = current().cache.remember_facts(webinar)
    state = store.load(reg.lead_id, reg.webinar_id)
    new = state.session_id is None or state.started_at is None
    started_at = runtime.session_start(reg, now=now) if new else state.started_at
    assert started_at is not None
    last = state.last_position_sec
    resume_at = last if (not new and last is not None and last >= RESUME_MIN_SEC) else None
    return AutoRoom(
        phase=_phase(webinar, new=new, started_at=started_at, now=now),
        started_at=started_at,
        starts_in_sec=progress.seconds_until_start(started_at, now=now),
        session_id=state.session_id,
        live_point=progress.live_point(started_at, facts.duration_sec, now=now),
        duration=facts.duration_sec,
        resume_at=resume_at,
        progress=state.progress_percent or 0,
        completed=state.completed,
        cta_at=facts.cta_at_sec,
        cta_shown=runtime.cta_shown(facts, last),
        recording_url=webinar.recording_url,
        page_id=uuid.uuid4().hex,
        interval=heartbeats.HEARTBEAT_INTERVAL,
        server_now=now,
        watch_now=new and schedule.is_watch_now_start(reg.starts_at),
    )


def context(reg: Registration, webinar: Webinar, *, now: datetime | None = None) -> dict[str, Any]:
    """Template context for the auto room partial: {"aw": AutoRoom}."""
    return {"aw": auto_room(reg, webinar, now=now)}
