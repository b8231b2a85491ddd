"""Who is in the room: the room's socket endpoint reports each connection opening and closing.

A socket connection is one presence unit; the DB holds one open attendance row per
connection (unique per session, lead, connection), so a lead with three tabs has three rows
and is counted once (COUNT DISTINCT lead). Each app remembers the connections this process
holds (`Presence`, in app.extensions) so the go-live transaction can enter the attendees
already waiting in the lobby.

Waiting room (scheduled): a connection is only remembered locally; no row, no event. When
the webinar goes live, the start transaction enters every waiting connection of this process,
and room.js sends an "enter" frame so connections held by other processes enter too
(idempotent). Live or paused: the first connection of a lead opens the row and emits
`client_webinar_entered`. Finished: nothing is recorded. Auto webinars are entered by the
AutoWebinar runtime (on the player's first heartbeat), never here.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from flask import Flask, current_app
from sqlalchemy import select

from portal.attendance import ledger, sessions
from portal.core.models import Status, Webinar, WebinarType
from portal.extensions import db
from portal.registration.models import Registration

log = logging.getLogger(__name__)

ATTENDING = (Status.live.value, Status.paused.value)
EXTENSION = "portal.attendance.presence"


class Presence:
    """This process's room connections of one app: webinar_id -> {connection_id: registration_id}."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._local: dict[int, dict[str, int]] = {}

    def add(self, webinar_id: int, connection_id: str, registration_id: int) -> None:
        with self._lock:
            self._local.setdefault(webinar_id, {})[connection_id] = registration_id

    def remove(self, webinar_id: int, connection_id: str) -> None:
        with self._lock:
            conns = self._local.get(webinar_id)
            if conns is not None:
                conns.pop(connection_id, None)
                if not conns:
                    self._local.pop(webinar_id, None)

    def of(self, webinar_id: int) -> dict[str, int]:
        with self._lock:
            return dict(self._local.get(webinar_id, {}))


def init_app(app: Flask) -> None:
    app.extensions[EXTENSION] = Presence()


def registry(app: Flask | None = None) -> Presence:
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    return app.extensions[EXTENSION]


def connected(reg: Registration | None, *, connection_id: str) -> None:
    """A room socket opened: remember it and, while the webinar runs, enter the lead."""
    if reg is None:  # the registration vanished between the handshake and now
        return
    registry().add(reg.webinar_id, connection_id, reg.registration_id)
    _unit_of_work(lambda: _enter_if_running(reg, connection_id))


def disconnected(reg: Registration | None, *, connection_id: str, reason: str) -> None:
    """A room socket closed: close its attendance row (the lead's last one emits left)."""
    if reg is None:
        return
    registry().remove(reg.webinar_id, connection_id)
    _unit_of_work(lambda: _leave(reg, connection_id, reason))


def ensure_entered(reg: Registration, *, connection_id: str) -> None:
    """The client saw the room go live (socket frame "enter"): enter if not yet done."""
    _unit_of_work(lambda: _enter_if_running(reg, connection_id))


def left_page(reg: Registration, *, connection_id: str) -> None:
    """The page was closed or hidden (room.js says goodbye): leave with reason 'left'."""
    _unit_of_work(lambda: _leave(reg, connection_id, "left"))


def local_connections(webinar_id: int) -> dict[str, int]:
    """This process's room connections of a webinar: {connection_id: registration_id}."""
    return registry().of(webinar_id)


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
        ledger.enter(reg, session_id=sessions.session_for(reg), connection_id=connection_id)
        entered += 1
    return entered


def _enter_if_running(reg: Registration, connection_id: str) -> bool:
    webinar = db.session.get(Webinar, reg.webinar_id, populate_existing=True)
    db.session.refresh(reg)
    if webinar is None or webinar.type != WebinarType.live.value:
        return False  # auto sessions are entered by the AutoWebinar runtime
    if webinar.status not in ATTENDING or not reg.has_access:
        return False
    ledger.enter(reg, session_id=sessions.session_for(reg), connection_id=connection_id)
    return True


def _leave(reg: Registration, connection_id: str, reason: str) -> bool:
    # Whatever opened the row (live presence or the AutoWebinar runtime), the socket is gone.
    session_id = ledger.open_session_of(reg, connection_id=connection_id)
    if session_id is None:
        return False
    return ledger.leave(reg, session_id=session_id, connection_id=connection_id, reason=reason)


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
