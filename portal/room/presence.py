"""Who is in the room: called by the realtime socket endpoint on connect and disconnect.

A socket connection is one presence unit; the DB holds one open attendance row per
connection (unique per session, lead, connection), so a lead with three tabs has three rows
and is counted once (COUNT DISTINCT lead). This process also remembers its own connections
(`_local`) so the go-live transaction can enter the attendees already waiting in the lobby.

Waiting room (scheduled): a connection is only remembered locally; no row, no event. When
the webinar goes live, the start transaction enters every waiting connection of this process,
and room.js sends an "enter" frame so connections held by other processes enter too
(idempotent). Live or paused: the first connection of a lead opens the row and emits
`client_webinar_entered`. Finished: nothing is recorded.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlalchemy import select

from portal.core.models import Status, Webinar, WebinarType
from portal.extensions import db
from portal.registration.models import Registration
from portal.room import attendance, broadcast, sessions

log = logging.getLogger(__name__)

ATTENDING = (Status.live.value, Status.paused.value)

_lock = threading.Lock()
_local: dict[int, dict[str, int]] = {}  # webinar_id -> {connection_id: registration_id}


def connected(reg: Registration | None, *, connection_id: str) -> None:
    """A room socket opened: remember it and, while the webinar runs, enter the lead."""
    if reg is None:  # the registration vanished between the handshake and now
        return
    with _lock:
        _local.setdefault(reg.webinar_id, {})[connection_id] = reg.registration_id
    changed = _unit_of_work(lambda: _enter_if_running(reg, connection_id))
    if changed:
        broadcast.attendance_changed(reg.webinar_id)


def disconnected(reg: Registration | None, *, connection_id: str, reason: str) -> None:
    """A room socket closed: close its attendance row (the lead's last one emits left)."""
    if reg is None:
        return
    with _lock:
        conns = _local.get(reg.webinar_id)
        if conns is not None:
            conns.pop(connection_id, None)
            if not conns:
                _local.pop(reg.webinar_id, None)
    changed = _unit_of_work(lambda: _leave(reg, connection_id, reason))
    if changed:
        broadcast.attendance_changed(reg.webinar_id)


def ensure_entered(reg: Registration, *, connection_id: str) -> None:
    """The client saw the room go live (socket frame "enter"): enter if not yet done."""
    if _unit_of_work(lambda: _enter_if_running(reg, connection_id)):
        broadcast.attendance_changed(reg.webinar_id)


def left_page(reg: Registration, *, connection_id: str) -> None:
    """The page was closed or hidden (room.js says goodbye): leave with reason 'left'."""
    if _unit_of_work(lambda: _leave(reg, connection_id, "left")):
        broadcast.attendance_changed(reg.webinar_id)


def local_connections(webinar_id: int) -> dict[str, int]:
    """This process's room connections of a webinar: {connection_id: registration_id}."""
    with _lock:
        return dict(_local.get(webinar_id, {}))


def enter_waiting(webinar: Webinar) -> int:
    """Inside the go-live transaction: enter every connection this process holds."""
    conns = local_connections(webinar.webinar_id)
    if not conns:
        return 0
    regs = {
        r.registration_id: r
        for r in db.session.scalars(
            select(Registration).where(Registration.registration_id.in_(set(conns.values())))
        )
    }
    entered = 0
    for connection_id, registration_id in sorted(conns.items()):
        reg = regs.get(registration_id)
        if reg is None or not reg.has_access:
            continue
        attendance.enter(reg, session_id=sessions.session_for(reg), connection_id=connection_id)
        entered += 1
    return entered


def _enter_if_running(reg: Registration, connection_id: str) -> bool:
    webinar = db.session.get(Webinar, reg.webinar_id, populate_existing=True)
    db.session.refresh(reg)
    if webinar is None or webinar.type != WebinarType.live.value:
        return False  # auto sessions are entered by the AutoWebinar runtime
    if webinar.status not in ATTENDING or not reg.has_access:
        return False
    attendance.enter(reg, session_id=sessions.session_for(reg), connection_id=connection_id)
    return True


def _leave(reg: Registration, connection_id: str, reason: str) -> bool:
    # Whatever opened the row (live presence or the AutoWebinar runtime), the socket is gone.
    session_id = attendance.open_session_of(reg, connection_id=connection_id)
    if session_id is None:
        return False
    return attendance.leave(reg, session_id=session_id, connection_id=connection_id, reason=reason)


def _unit_of_work(work: Callable[[], bool]) -> bool:
    """Run `work` and commit; a failure is logged and rolled back, never raised into a socket."""
    try:
        changed = bool(work())
        db.session.commit()
        return changed
    except Exception:
        db.session.rollback()
        log.exception("presence update failed")
        return False
