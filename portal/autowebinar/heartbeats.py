"""Player heartbeats: validated on arrival, coalesced in memory, written once a second.

Each process keeps the latest accepted position per (lead, webinar) (`Coalescer`) and a
background flusher writes everything queued in ONE transaction per FLUSH_INTERVAL, so 10,000
viewers beating every 10 s cost one write transaction a second per process, not 1,000. A crash
loses at most that second of positions; a milestone or completion lost that way is detected
again by the next heartbeat (the stored progress is lower), and what was written is never
lowered (progress upserts are conditional in the database).

Milestones and completion travel with the same flush (they are rare); completion calls the
attendance ledger's `complete` in that transaction, guarded by a first-time-only upsert of
`autowebinar_completed`, so `client_webinar_completed` is emitted exactly once.

The flusher is a thread started on the first heartbeat of a process (a greenlet under
gunicorn's gevent workers, whose monkey-patching turns threads into greenlets), restarted
after a fork, stopped at exit after a final flush. Leaving flushes that viewer at once.
Connections entered through the HTTP fallback and silent for HTTP_STALE_AFTER seconds are
closed by the flusher (reason "timeout"); socket connections are closed by the realtime layer.
"""
from __future__ import annotations

import html
import json
import logging
import re
import time
from datetime import datetime
from typing import Any

from flask import Flask
from sqlalchemy import select

from portal import realtime, signals
from portal.attendance import ledger
from portal.autowebinar import runtime, store
from portal.autowebinar.coalescer import Connection, Pending
from portal.autowebinar.flusher import FLUSH_INTERVAL, Flusher
from portal.autowebinar.state import EXTENSION, AutoState, current
from portal.db_types import utcnow
from portal.errors import Conflict, Forbidden, Invalid, PortalError
from portal.extensions import db
from portal.registration.models import Registration

log = logging.getLogger(__name__)

HEARTBEAT_INTERVAL = 5  # seconds between player heartbeats (the page reads it)
HTTP_STALE_AFTER = 45.0  # an HTTP-fallback connection silent this long has left
SOCKET_FORGET_AFTER = 120.0  # an entered socket connection silent this long is forgotten
_PAGE_ID = re.compile(r"^[A-Za-z0-9_-]{8,40}$")



# --- arrival ---------------------------------------------------------------------------------

def http_connection_id(page_id: Any) -> str:
    """The attendance connection id of a page beating over HTTP (its id is the page's)."""
    if not isinstance(page_id, str) or not _PAGE_ID.match(page_id):
        raise Invalid("Missing or malformed page id.", details={"field": "page_id"})
    return f"aw-http-{page_id}"


class SocketAttendee:
    """A room socket's attendee by id; its Registration row is read only when needed (entering,
    or a new viewer's chosen start), so a heartbeat of a known viewer touches no database."""

    def __init__(self, ctx: realtime.SocketContext) -> None:
        self._ctx = ctx
        self.registration_id: int = ctx.id("registration_id")  # type: ignore[assignment]
        self.lead_id: int = ctx.id("lead_id")  # type: ignore[assignment]
        self.webinar_id: int = ctx.id("webinar_id")  # type: ignore[assignment]

    def load(self) -> Registration:
        reg = self._ctx.load(Registration, self.registration_id)
        if reg is None or not reg.has_access:
            raise Forbidden("Your access to this webinar was revoked.", details={"reason": "revoked"})
        return reg

    @property
    def starts_at(self) -> datetime | None:
        return self.load().starts_at


def _registration(who: Registration | SocketAttendee) -> Registration:
    return who.load() if isinstance(who, SocketAttendee) else who


def accept(reg: Registration | SocketAttendee, payload: dict[str, Any], *, connection_id: str, http: bool,
           now: datetime | None = None) -> runtime.Sync:
    """Validate one heartbeat, enter the connection if this process has not, and queue the
    position. Raises PortalError (and writes nothing) when refused."""
    now = now or utcnow()
    position, facts, viewer = runtime.validate_heartbeat(reg, payload, now=now)  # type: ignore[arg-type]
    state = current()
    connections, coalescer = state.connections, state.coalescer
    key = (reg.lead_id, reg.webinar_id, connection_id)
    if viewer is None or not connections.beat(key):
        viewer = runtime.enter(_registration(reg), connection_id=connection_id, now=now)
        connections.add(key, Connection(reg.registration_id, viewer.session_id, http, time.monotonic()))
    accepted = runtime.apply_heartbeat(viewer, position, facts, now=now)
    coalescer.put(Pending(reg.lead_id, reg.webinar_id, reg.registration_id, viewer.session_id,
                          accepted.position, now, accepted.milestone, accepted.completes))
    state.flusher.ensure_started()
    return accepted.sync


def leave(reg: Registration, payload: dict[str, Any], *, connection_id: str | None,
          now: datetime | None = None) -> bool:
    """The page is going away: write its final position and last seen now (with anything
    still queued for the viewer) and close the connection's attendance row, in one
    transaction. Refused, writing nothing, for a bad position or once the webinar is closed.
    Returns whether anything was written."""
    now = now or utcnow()
    if payload.get("position") not in (None, ""):
        position, facts, viewer = runtime.validate_heartbeat(reg, payload, now=now)
        if viewer is None:
            return False
        accepted = runtime.apply_heartbeat(viewer, position, facts, now=now)
        latest = Pending(reg.lead_id, reg.webinar_id, reg.registration_id, viewer.session_id,
                         accepted.position, now, accepted.milestone, accepted.completes)
    else:
        facts = runtime.facts_for(reg)
        if facts.status not in runtime.RUNNING:
            raise Conflict("The webinar is not running.", details={"status": facts.status, "reason": "not_running"})
        viewer = current().cache.load_viewer(reg.lead_id, reg.webinar_id, reg.registration_id)
        if viewer is None:
            return False
        latest = Pending(reg.lead_id, reg.webinar_id, reg.registration_id, viewer.session_id,
                         viewer.position or 0, now)
    state = current()
    queued = state.coalescer.take(reg.lead_id, reg.webinar_id)
    entry = queued.merged_into(latest) if queued is not None else latest
    try:
        _write([entry], reason="leave")
        if connection_id is not None:
            runtime.close_connection(reg, session_id=viewer.session_id, connection_id=connection_id)
        db.session.commit()
    except Exception:
        db.session.rollback()
        state.coalescer.requeue([entry])
        raise
    if connection_id is not None:
        state.connections.forget((reg.lead_id, reg.webinar_id, connection_id))
    return True


# --- writing ---------------------------------------------------------------------------------

def _allowed(entry: Pending, facts: Any) -> bool:
    """Write only while the evergreen runs, or what arrived before it was stopped."""
    if facts is None:
        return False
    if facts.status in runtime.RUNNING:
        return True
    return facts.finished_at is not None and entry.seen_at <= facts.finished_at


def _write(entries: list[Pending], *, reason: str) -> int:
    """Write queued entries in the caller's transaction; returns how many were written."""
    session = db.session
    facts = current().cache.select_facts(session(), {e.webinar_id for e in entries}, lock=True)
    keep = [e for e in entries if _allowed(e, facts.get(e.webinar_id))]
    dropped = len(entries) - len(keep)
    if dropped:
        log.info("heartbeats: %s positions dropped (webinar closed) on %s", dropped, reason)
    rows: list[tuple[int, int, str, store.Scalar]] = []
    for e in keep:
        rows.append((e.lead_id, e.webinar_id, "last_position_sec", e.position))
        rows.append((e.lead_id, e.webinar_id, "last_seen_at", e.seen_at))
    store.put_many(rows)
    # One multi-row upsert for every milestone of the flush (a room's viewers cross them together).
    store.raise_progress_many((e.lead_id, e.webinar_id, e.milestone) for e in keep if e.milestone is not None)
    completing = [e for e in keep if e.completes]
    if completing:
        _complete(completing)
    return len(keep)


def _registrations(ids: set[int]) -> dict[int, Registration]:
    if not ids:
        return {}
    return {r.registration_id: r for r in db.session.scalars(
        select(Registration).where(Registration.registration_id.in_(sorted(ids))))}


def _complete(entries: list[Pending]) -> None:
    """Set autowebinar_completed the first time and let the attendance ledger emit the event."""
    regs = _registrations({e.registration_id for e in entries})
    for e in entries:
        reg = regs.get(e.registration_id)
        if reg is None:
            continue
        with db.session.begin_nested():  # one bad completion must not cost the batch its positions
            if store.set_once(e.lead_id, e.webinar_id, "completed", True, unless="1"):
                ledger.complete(reg, session_id=e.session_id)


def _close_stale(stale: list[tuple[tuple[int, int, str], Connection]]) -> None:
    regs = _registrations({conn.registration_id for _, conn in stale})
    for (_lead_id, _webinar_id, connection_id), conn in stale:
        reg = regs.get(conn.registration_id)
        if reg is not None:
            with db.session.begin_nested():
                runtime.close_connection(reg, session_id=conn.session_id, connection_id=connection_id,
                                         reason="timeout")


def flush(*, reason: str = "tick") -> int:
    """Write everything queued in this process in ONE transaction; returns entries written.

    Does not touch the database when nothing is queued. On failure the batch goes back to the
    queue (newer positions win) and the error is logged and re-raised.
    """
    state = current()
    entries = state.coalescer.drain()
    stale = state.connections.stale(http_stale_after=HTTP_STALE_AFTER, socket_forget_after=SOCKET_FORGET_AFTER)
    if not entries and not stale:
        return 0
    try:
        written = _write(entries, reason=reason) if entries else 0
        if stale:
            _close_stale(stale)
        db.session.commit()
    except Exception:
        db.session.rollback()
        state.coalescer.requeue(entries)
        raise
    return written


__all__ = ["FLUSH_INTERVAL", "Pending", "accept", "current", "flush", "init_app", "leave"]


# --- the socket path -------------------------------------------------------------------------

def sync_fragment(sync: runtime.Sync) -> str:
    """The socket answer: an out-of-band element whose data-sync the player reads."""
    data = html.escape(json.dumps(sync.as_json(), separators=(",", ":")), quote=True)
    return f'<div id="aw-sync" hx-swap-oob="true" hidden data-sync="{data}"></div>'


def on_socket_heartbeat(ctx: realtime.SocketContext, payload: dict[str, Any]) -> None:
    """Realtime handler for frames {"type": "heartbeat", "position": s, "session_id", "webinar_id"}."""
    now = utcnow()
    if ctx.id("registration_id") is None or ctx.audience != "room":
        sync = runtime.refused(Forbidden("Only attendees send heartbeats.", details={"reason": "not_attendee"}),
                               now=now)
    else:
        try:
            sync = accept(SocketAttendee(ctx), payload, connection_id=str(ctx.connection_id), http=False, now=now)
        except PortalError as error:
            db.session.rollback()
            sync = runtime.refused(error, now=now)
    ctx.send(sync_fragment(sync))


def init_app(app: Flask) -> None:
    """This app's heartbeat state and flusher, the socket handler, and the cache's and the
    stop's receivers."""
    state = AutoState(flusher=Flusher(flush, on_tick=lambda: state.cache.evict_idle(), on_fork=lambda: state.forget()))
    app.extensions[EXTENSION] = state
    realtime.register_handler(app, "heartbeat", on_socket_heartbeat, audience="room")
    signals.connect(app, signals.event_committed, state.cache.on_event_committed)
    signals.connect(app, signals.status_changing, runtime.on_status_changing)
