"""Player heartbeats: validated on arrival, coalesced in memory, written once a second.

Each process keeps the latest accepted position per (lead, webinar) (`Coalescer`) and a
background flusher writes everything queued in ONE transaction per FLUSH_INTERVAL, so 10,000
viewers beating every 10 s cost one write transaction a second per process, not 1,000. A crash
loses at most that second of positions; a milestone or completion lost that way is detected
again by the next heartbeat (the stored progress is lower), and what was written is never
lowered (progress upserts are conditional in the database).

Milestones and completion travel with the same flush (they are rare); completion calls the
room's `attendance.complete` in that transaction, guarded by a first-time-only upsert of
`autowebinar_completed`, so `client_webinar_completed` is emitted exactly once.

The flusher is a thread started on the first heartbeat of a process (a greenlet under
gunicorn's gevent workers, whose monkey-patching turns threads into greenlets), restarted
after a fork, stopped at exit after a final flush. Leaving flushes that viewer at once.
Connections entered through the HTTP fallback and silent for HTTP_STALE_AFTER seconds are
closed by the flusher (reason "timeout"); socket connections are closed by the realtime layer.
"""
from __future__ import annotations

import atexit
import html
import json
import logging
import os
import re
import threading
import time
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from flask import Flask, current_app
from sqlalchemy import select

from portal.autowebinar import cache, runtime, store
from portal.db_types import utcnow
from portal.errors import Conflict, Forbidden, Invalid, PortalError
from portal.extensions import db
from portal.registration.models import Registration

log = logging.getLogger(__name__)

HEARTBEAT_INTERVAL = 5  # seconds between player heartbeats (the page reads it)
FLUSH_INTERVAL = 1.0  # seconds between flushes
HTTP_STALE_AFTER = 45.0  # an HTTP-fallback connection silent this long has left
SOCKET_FORGET_AFTER = 120.0  # an entered socket connection silent this long is forgotten
_PAGE_ID = re.compile(r"^[A-Za-z0-9_-]{8,40}$")


@dataclass
class Pending:
    """The latest queued state of one viewer."""

    lead_id: int
    webinar_id: int
    registration_id: int
    session_id: str
    position: int
    seen_at: datetime
    milestone: int | None = None
    completes: bool = False

    def merged_into(self, newer: Pending) -> Pending:
        """`newer` with the milestone and completion this older entry still carried."""
        best = max((m for m in (self.milestone, newer.milestone) if m is not None), default=None)
        return replace(newer, milestone=best, completes=self.completes or newer.completes)


class Coalescer:
    """Latest position per (lead, webinar) of this process, swapped out by each flush."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[tuple[int, int], Pending] = {}

    def put(self, entry: Pending) -> None:
        key = (entry.lead_id, entry.webinar_id)
        with self._lock:
            older = self._entries.get(key)
            self._entries[key] = older.merged_into(entry) if older is not None else entry

    def drain(self) -> list[Pending]:
        with self._lock:
            entries, self._entries = self._entries, {}
        return list(entries.values())

    def take(self, lead_id: int, webinar_id: int) -> Pending | None:
        with self._lock:
            return self._entries.pop((lead_id, webinar_id), None)

    def requeue(self, entries: list[Pending]) -> None:
        """Put back a batch whose write failed, under anything newer queued meanwhile."""
        with self._lock:
            for entry in entries:
                key = (entry.lead_id, entry.webinar_id)
                newer = self._entries.get(key)
                self._entries[key] = entry.merged_into(newer) if newer is not None else entry

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)


@dataclass
class Connection:
    registration_id: int
    session_id: str
    http: bool
    last_beat: float


class Connections:
    """Connections this process has entered (attendance row open), by (lead, webinar, id)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._known: dict[tuple[int, int, str], Connection] = {}

    def beat(self, key: tuple[int, int, str]) -> bool:
        """Refresh a known connection; False when this process has not entered it."""
        with self._lock:
            found = self._known.get(key)
            if found is None:
                return False
            found.last_beat = time.monotonic()
            return True

    def add(self, key: tuple[int, int, str], conn: Connection) -> None:
        with self._lock:
            self._known[key] = conn

    def forget(self, key: tuple[int, int, str]) -> Connection | None:
        with self._lock:
            return self._known.pop(key, None)

    def stale(self) -> list[tuple[tuple[int, int, str], Connection]]:
        """HTTP connections silent too long (removed here, closed by the flusher); silent
        socket connections are only forgotten (the socket's close ends their row)."""
        now = time.monotonic()
        out = []
        with self._lock:
            for key, conn in list(self._known.items()):
                idle = now - conn.last_beat
                if conn.http and idle > HTTP_STALE_AFTER:
                    out.append((key, self._known.pop(key)))
                elif not conn.http and idle > SOCKET_FORGET_AFTER:
                    del self._known[key]
        return out

    def all(self) -> list[tuple[tuple[int, int, str], Connection]]:
        with self._lock:
            return list(self._known.items())

    def clear(self) -> None:
        with self._lock:
            self._known.clear()


coalescer = Coalescer()
connections = Connections()


# --- arrival ---------------------------------------------------------------------------------

def http_connection_id(page_id: Any) -> str:
    """The attendance connection id of a page beating over HTTP (its id is the page's)."""
    if not isinstance(page_id, str) or not _PAGE_ID.match(page_id):
        raise Invalid("Missing or malformed page id.", details={"field": "page_id"})
    return f"aw-http-{page_id}"


class SocketAttendee:
    """A room socket's attendee by id; its Registration row is read only when needed (entering,
    or a new viewer's chosen start), so a heartbeat of a known viewer touches no database."""

    def __init__(self, ctx: Any) -> None:
        self._ctx = ctx
        self.registration_id: int = ctx.registration_id
        self.lead_id: int = ctx.lead_id
        self.webinar_id: int = ctx.webinar_id

    def load(self) -> Registration:
        reg = self._ctx.registration
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
    key = (reg.lead_id, reg.webinar_id, connection_id)
    if viewer is None or not connections.beat(key):
        viewer = runtime.enter(_registration(reg), connection_id=connection_id, now=now)
        connections.add(key, Connection(reg.registration_id, viewer.session_id, http, time.monotonic()))
    accepted = runtime.apply_heartbeat(viewer, position, facts, now=now)
    coalescer.put(Pending(reg.lead_id, reg.webinar_id, reg.registration_id, viewer.session_id,
                          accepted.position, now, accepted.milestone, accepted.completes))
    flusher.ensure_started()
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
        viewer = cache.load_viewer(reg.lead_id, reg.webinar_id, reg.registration_id)
        if viewer is None:
            return False
        latest = Pending(reg.lead_id, reg.webinar_id, reg.registration_id, viewer.session_id,
                         viewer.position or 0, now)
    queued = coalescer.take(reg.lead_id, reg.webinar_id)
    entry = queued.merged_into(latest) if queued is not None else latest
    try:
        _write([entry], reason="leave")
        if connection_id is not None:
            runtime.close_connection(reg, session_id=viewer.session_id, connection_id=connection_id)
        db.session.commit()
    except Exception:
        db.session.rollback()
        coalescer.requeue([entry])
        raise
    if connection_id is not None:
        connections.forget((reg.lead_id, reg.webinar_id, connection_id))
        runtime.attendance_changed(reg.webinar_id)
    return True


# --- writing ---------------------------------------------------------------------------------

def _allowed(entry: Pending, facts: cache.Facts | None) -> bool:
    """Write only while the evergreen runs, or what arrived before it was stopped."""
    if facts is None:
        return False
    if facts.status in runtime.RUNNING:
        return True
    return facts.finished_at is not None and entry.seen_at <= facts.finished_at


def _write(entries: list[Pending], *, reason: str) -> int:
    """Write queued entries in the caller's transaction; returns how many were written."""
    session = db.session
    facts = cache.select_facts(session(), {e.webinar_id for e in entries}, lock=True)
    keep = [e for e in entries if _allowed(e, facts.get(e.webinar_id))]
    dropped = len(entries) - len(keep)
    if dropped:
        log.info("heartbeats: %s positions dropped (webinar closed) on %s", dropped, reason)
    rows: list[tuple[int, int, str, store.Scalar]] = []
    for e in keep:
        rows.append((e.lead_id, e.webinar_id, "last_position_sec", e.position))
        rows.append((e.lead_id, e.webinar_id, "last_seen_at", e.seen_at))
    store.put_many(rows)
    for e in keep:
        if e.milestone is not None:
            store.raise_progress(e.lead_id, e.webinar_id, e.milestone)
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
    from portal.room import attendance

    regs = _registrations({e.registration_id for e in entries})
    for e in entries:
        reg = regs.get(e.registration_id)
        if reg is None:
            continue
        with db.session.begin_nested():  # one bad completion must not cost the batch its positions
            if store.set_once(e.lead_id, e.webinar_id, "completed", True, unless="1"):
                attendance.complete(reg, session_id=e.session_id)


def _close_stale(stale: list[tuple[tuple[int, int, str], Connection]]) -> None:
    regs = _registrations({conn.registration_id for _, conn in stale})
    for (lead_id, webinar_id, connection_id), conn in stale:
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
    entries = coalescer.drain()
    stale = connections.stale()
    if not entries and not stale:
        return 0
    try:
        written = _write(entries, reason=reason) if entries else 0
        if stale:
            _close_stale(stale)
        db.session.commit()
    except Exception:
        db.session.rollback()
        coalescer.requeue(entries)
        raise
    for webinar_id in sorted({key[1] for key, _ in stale}):
        runtime.attendance_changed(webinar_id)
    return written


class Flusher:
    """The per-process background writer (thread, or greenlet under gevent)."""

    def __init__(self, interval: float = FLUSH_INTERVAL) -> None:
        self.interval = interval
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid: int | None = None
        self._app: Flask | None = None
        self._atexit = False

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and self._pid == os.getpid()

    def ensure_started(self, app: Flask | None = None) -> None:
        """Start once per process (again in a forked child); cheap when already running.
        app.config["AUTOWEBINAR_FLUSH_INTERVAL"] = 0 disables the thread (tests call flush())."""
        if self.running:
            return
        app = app or current_app._get_current_object()
        interval = float(app.config.get("AUTOWEBINAR_FLUSH_INTERVAL", FLUSH_INTERVAL))
        if interval <= 0:
            return
        with self._lock:
            self.interval = interval
            if self.running:
                return
            if self._pid is not None and self._pid != os.getpid():  # forked: the parent's queue is not ours
                coalescer.drain()
                connections.clear()
                cache.clear()
            self._app, self._pid = app, os.getpid()
            self._stop = threading.Event()
            self._thread = threading.Thread(target=self._run, name="autowebinar-flusher", daemon=True)
            self._thread.start()
            if not self._atexit:
                atexit.register(self.stop)
                self._atexit = True
        log.info("heartbeat flusher started in process %s", self._pid)

    def _run(self) -> None:
        assert self._app is not None
        stop = self._stop
        with self._app.app_context():
            while not stop.wait(self.interval):
                self._tick()
            self._tick()  # the last second before stopping
            db.session.remove()

    def _tick(self) -> None:
        try:
            flush()
            cache.evict_idle()
        except Exception:
            log.exception("heartbeat flush failed; will retry")
        finally:
            db.session.close()  # hand the connection back to the pool between ticks

    def stop(self, timeout: float = 5.0) -> None:
        """Stop after a final flush (at exit, and in tests)."""
        thread = self._thread
        if thread is None or self._pid != os.getpid():
            return
        self._stop.set()
        thread.join(timeout)
        self._thread = None


flusher = Flusher()


# --- the socket path -------------------------------------------------------------------------

def sync_fragment(sync: runtime.Sync) -> str:
    """The socket answer: an out-of-band element whose data-sync the player reads."""
    data = html.escape(json.dumps(sync.as_json(), separators=(",", ":")), quote=True)
    return f'<div id="aw-sync" hx-swap-oob="true" hidden data-sync="{data}"></div>'


def on_socket_heartbeat(ctx: Any, payload: dict[str, Any]) -> None:
    """Realtime handler for frames {"type": "heartbeat", "position": s, "session_id", "webinar_id"}."""
    now = utcnow()
    if getattr(ctx, "registration_id", None) is None or getattr(ctx, "audience", "room") != "room":
        sync = runtime.refused(Forbidden("Only attendees send heartbeats.", details={"reason": "not_attendee"}),
                               now=now)
    else:
        try:
            sync = accept(SocketAttendee(ctx), payload, connection_id=str(ctx.connection_id), http=False, now=now)
        except PortalError as error:
            db.session.rollback()
            sync = runtime.refused(error, now=now)
    ctx.send(sync_fragment(sync))


def on_event_committed(envelope: dict) -> None:
    """After an auto webinar's stop committed: the room's count follows the closed rows."""
    if envelope.get("event") != "webinar_status_changed" or envelope.get("data", {}).get("to") != "finished":
        return
    facts = cache.facts(int(envelope["webinar_id"]), fresh=True)
    if facts is None or facts.type != "auto":
        return
    # After-commit hooks may not run SQL on the committing session: a fresh app context has
    # a session of its own for the room's push.
    with current_app.app_context():
        runtime.attendance_changed(facts.webinar_id)


def install() -> None:
    """Register the socket handler and the signal subscribers (idempotent)."""
    from portal.core import events, lifecycle
    from portal.realtime import handlers

    handlers.register("heartbeat", on_socket_heartbeat)
    events.event_committed.connect(cache.on_event_committed)
    events.event_committed.connect(on_event_committed)
    lifecycle.status_changing.connect(runtime.on_status_changing)


def reset_for_tests() -> None:
    """Stop the flusher and forget this process's queue, connections and caches."""
    flusher.stop()
    coalescer.drain()
    connections.clear()
    cache.clear()
