"""Timed polls (issue 13): an auto viewer's cohort and point in the recording, for portal.polls."""
from __future__ import annotations

from datetime import datetime

from portal.autowebinar import progress, schedule, store
from portal.autowebinar.state import current
from portal.core.models import Webinar
from portal.polls.timing import WATCH_NOW, Viewer
from portal.registration.models import Registration


def viewer(reg: Registration, webinar: Webinar, now: datetime) -> Viewer:
    """Cohort: the chosen scheduled start (everyone who picked it), or the viewer's own
    watch-now session; position: the last one their player reported (heartbeats, checked
    against the live point), else the live point of their session (no session yet: None)."""
    state = store.load(reg.lead_id, reg.webinar_id)
    if state.started_at is None:
        return Viewer(cohort=_cohort(reg, state.session_id), position=None)
    last = state.last_position_sec
    position = float(last) if last is not None else progress.live_point(
        state.started_at, current().cache.remember_facts(webinar).duration_sec, now=now)
    return Viewer(cohort=_cohort(reg, state.session_id, state.started_at), position=position)


def _cohort(reg: Registration, session_id: str | None, started_at: datetime | None = None) -> str:
    if schedule.is_watch_now_start(reg.starts_at):
        return f"{WATCH_NOW}{session_id or reg.registration_id}"
    start = reg.starts_at or started_at
    return store.encode(start) if start is not None else ""
