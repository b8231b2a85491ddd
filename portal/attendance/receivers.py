"""Attendance's part of a live webinar's status change, inside Core's status transaction."""
from __future__ import annotations

import logging
from typing import Any

from portal.attendance import leases, ledger, sessions
from portal.core import runs
from portal.core.models import Status, Webinar, WebinarType

log = logging.getLogger(__name__)


def on_status_changing(webinar: Webinar, *, from_status: str, to_status: str, **_: Any) -> None:
    """Stop closes every row and applies the live completion rule (before Core's own
    `webinar_completed`), after closing the rows of dead workers and silent polling pages
    (they are not "present at the end"). Go-live writes nothing here: the waiting
    connections are entered in batches after the commit (presence.on_event_committed).
    A run that ends while later start times remain (live -> scheduled) closes its own rows only."""
    if webinar.type != WebinarType.live.value:
        return  # auto webinars: portal.autowebinar.runtime.on_status_changing
    run_ends = from_status in runs.RUNNING and to_status == Status.scheduled.value
    if not run_ends and to_status != Status.finished.value:
        return
    run = runs.current_session_id(webinar) if run_ends else None
    ids = [run] if run is not None else sessions.live_session_ids(webinar.webinar_id)
    orphans = leases.sweep_webinar(webinar.webinar_id)
    result = ledger.finish_live(webinar, session_ids=ids)
    sessions.end_sessions(webinar.webinar_id, session_ids=ids)
    log.info("webinar %s %s: %s (orphaned rows closed first: %s)", webinar.webinar_id,
             f"run {run} ended" if run else "finished", result, orphans)
