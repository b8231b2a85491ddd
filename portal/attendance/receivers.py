"""Attendance's part of a live webinar's status change, inside Core's status transaction."""
from __future__ import annotations

import logging
from typing import Any

from portal.attendance import ledger, presence, sessions
from portal.core.models import Status, Webinar, WebinarType

log = logging.getLogger(__name__)


def on_status_changing(webinar: Webinar, *, from_status: str, to_status: str, **_: Any) -> None:
    """Go-live enters the attendees waiting in the lobby; stop closes every row and applies
    the live completion rule (before Core's own `webinar_completed`)."""
    if webinar.type != WebinarType.live.value:
        return  # auto webinars: portal.autowebinar.runtime.on_status_changing
    if to_status == Status.live.value and from_status == Status.scheduled.value:
        entered = presence.enter_waiting(webinar)
        log.info("webinar %s live: %s waiting connections entered", webinar.webinar_id, entered)
    elif to_status == Status.finished.value:
        result = ledger.finish_live(webinar, session_ids=sessions.live_session_ids(webinar.webinar_id))
        sessions.end_sessions(webinar.webinar_id)
        log.info("webinar %s finished: %s", webinar.webinar_id, result)
