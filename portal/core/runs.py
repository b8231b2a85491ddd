"""Runs of a live webinar: one per start time (the main `scheduled_at` and each extra slot).

A live webinar with several start times is started once per time. Core remembers the time
whose run is live or ran last (`webinar.run_starts_at`, written by the start hook only); from
it everything else follows, for every registrant from their own start time:
- a registrant of the running time is in the run (live / paused);
- a registrant of an earlier time (or of the time that ran last) sees their run ended;
- a registrant of a later time waits for it (their own countdown).
`stop` ends the run; while later times remain the webinar goes back to `scheduled`
(SPEC §3), else to `finished`. Auto webinars have no runs (their cohorts: portal.room).
Pure functions over Core's data: no writes, no Flask.
"""
from __future__ import annotations

import uuid
from datetime import datetime

from portal.core.models import Status, Webinar, WebinarType

# Names the run's `session` row (portal.attendance.sessions) and Core's `webinar_completed`.
_NAMESPACE = uuid.UUID("6f1d3c1e-8b53-4a8e-9a55-2a4f0f3b6d21")
RUNNING = (Status.live.value, Status.paused.value)


def has_runs(webinar: Webinar) -> bool:
    """A live webinar runs once per start time; an auto one is one evergreen."""
    return webinar.type == WebinarType.live.value


def start_times(webinar: Webinar) -> list[tuple[datetime, int | None]]:
    """Every start time of a live webinar as (starts_at, slot_id: None for the main time), in order."""
    times: list[tuple[datetime, int | None]] = []
    if webinar.scheduled_at is not None:
        times.append((webinar.scheduled_at, None))
    seen = {t for t, _ in times}
    times.extend((s.starts_at, s.slot_id) for s in webinar.slots if s.starts_at not in seen)
    return sorted(times, key=lambda item: item[0])


def remaining(webinar: Webinar) -> list[datetime]:
    """The start times that have not run yet (after the one that ran last), in order."""
    last = webinar.run_starts_at
    return [t for t, _ in start_times(webinar) if last is None or t > last]


def next_start(webinar: Webinar) -> datetime | None:
    """The time the next `start` runs when none is named: the first one not run yet."""
    left = remaining(webinar)
    return left[0] if left else None


def later_left(webinar: Webinar) -> bool:
    """Does a start time remain after the running one (stop then waits for it)? Never for a
    webinar started before runs were recorded (no `run_starts_at`): its stop finishes it."""
    return has_runs(webinar) and webinar.run_starts_at is not None and bool(remaining(webinar))


def run_slot(webinar: Webinar, starts_at: datetime | None) -> int | None:
    """The slot of a start time (None: the main time)."""
    for at, slot_id in start_times(webinar):
        if at == starts_at:
            return slot_id
    return None


def run_session_id(webinar_id: int, slot_id: int | None) -> str:
    """The id of the run of (webinar, start time): the same in every process, so Core can name
    the run in its events and attendance creates its `session` row under that name."""
    return str(uuid.uuid5(_NAMESPACE, f"{int(webinar_id)}:{'main' if slot_id is None else int(slot_id)}"))


def current_session_id(webinar: Webinar) -> str | None:
    """The session id of the run that is live or ran last (None before the first run)."""
    if not has_runs(webinar) or webinar.run_starts_at is None:
        return None
    return run_session_id(webinar.webinar_id, run_slot(webinar, webinar.run_starts_at))


def status_for(webinar: Webinar, starts_at: datetime | None) -> str:
    """The status one start time's registrants see: their run's, not the first run's."""
    status, run = webinar.status, webinar.run_starts_at
    if not has_runs(webinar) or starts_at is None or run is None:
        return status
    if status in RUNNING:
        if starts_at == run:
            return status
        return Status.finished.value if starts_at < run else Status.scheduled.value
    if status == Status.scheduled.value and starts_at <= run:
        return Status.finished.value  # their run ended (or was passed over)
    return status


def in_run(webinar: Webinar, starts_at: datetime | None) -> bool:
    """May a registrant of this start time be entered now (their run is live or paused)?"""
    return status_for(webinar, starts_at) in RUNNING


def shows_cta(webinar: Webinar, starts_at: datetime | None) -> bool:
    """May this start time's room show the call-to-action Core made visible? With several start
    times only the running time's registrants see it (the others are still waiting)."""
    if not has_runs(webinar) or webinar.run_starts_at is None or starts_at is None or len(start_times(webinar)) < 2:
        return True
    return in_run(webinar, starts_at)
