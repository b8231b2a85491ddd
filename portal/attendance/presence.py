"""Who is in the room: sockets opening and closing, pages polling, and the go-live entering.

A socket connection is one presence unit; the DB holds one open attendance row per
connection (unique per session, lead, connection), so a lead with three tabs has three rows
and is counted once (COUNT DISTINCT lead). Each app remembers the connections this process
holds (`Presence`, in app.extensions): which wait in the lobby, which are entered.

Waiting room (scheduled): a connection is only remembered locally; no row, no event.
Go-live: the status commits and is pushed first; then (after the commit, in the background)
this process enters its waiting connections in batches of GO_LIVE_BATCH rows per
transaction (one multi-row INSERT, the entered events in bulk, a yield between batches), so
the room sees "live" at once and SQLite's write lock is held briefly. room.js answers "live"
with an "enter" frame: a connection already entered or queued in a batch is skipped without
touching the database; in a process that did not commit the go-live, the first such frame
starts the batches for all its waiting connections. Live or paused: the first connection of
a lead opens the row and emits `client_webinar_entered`. Finished: nothing is recorded.
Every entering re-reads the status under a lock (`ledger.lock_running`), so a socket that
connects while `stop` commits opens no row. Auto webinars are entered by the AutoWebinar
runtime (on the player's first heartbeat), never here.

Socket rows carry this process's worker id (portal.attendance.leases). A page that lives on
polling (websockets blocked) is present too: the state endpoint calls `polled(token)`, which
only notes the token in memory (a 304 stays free of database writes); once a second the
keeper enters such pages (connection HTTP_CONNECTION, no worker) or moves their `seen_at`
forward, at most every HTTP_TOUCH_SECONDS; the sweeper closes them when polls stop.

Presence writes that hit a database error are retried a few times with back-off, then
logged (never raised into a socket).
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from flask import Flask, current_app
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, OperationalError

from portal import signals
from portal.attendance import leases, ledger, sessions
from portal.attendance.models import Attendance
from portal.core.models import Status, Webinar, WebinarType
from portal.extensions import db
from portal.realtime import concurrency
from portal.registration.models import Registration
from portal.registration.tokens import find_registrations

log = logging.getLogger(__name__)

ATTENDING = (Status.live.value, Status.paused.value)
EXTENSION = "portal.attendance.presence"
GO_LIVE_BATCH = 250  # rows per go-live transaction (app.config["ATTENDANCE_GO_LIVE_BATCH"])
HTTP_CONNECTION = "http-poll"  # the connection id of a registration's HTTP presence
HTTP_TOUCH_SECONDS = 5.0  # seen_at is written at most this often per polling page
RETRY_DELAYS = (0.1, 0.5, 2.0)  # back-off of a presence write that hit a database error
ENTER, LEAVE = "enter", "leave"  # presence writes owed after the database stayed away
_TOKEN_MAX = 64


class Presence:
    """This process's room connections of one app: webinar_id -> {connection_id: registration_id},
    which of them are entered, which wait in a go-live batch, and the pages that polled."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._local: dict[int, dict[str, int]] = {}
        self._entered: dict[int, set[str]] = {}
        self._pending: dict[int, set[str]] = {}
        self._polls: dict[str, float] = {}
        # (registration_id, connection_id) -> (ENTER | LEAVE, reason): writes given up while the
        # database was away, tried again by the keeper each second (the newest wins per socket).
        self._owed: dict[tuple[int, str], tuple[str, str]] = {}
        self._idle = threading.Condition(self._lock)

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
            self._entered.get(webinar_id, set()).discard(connection_id)
            self._pending.get(webinar_id, set()).discard(connection_id)

    def of(self, webinar_id: int) -> dict[str, int]:
        with self._lock:
            return dict(self._local.get(webinar_id, {}))

    def webinars(self) -> list[int]:
        with self._lock:
            return sorted(self._local)

    # -- entered / waiting in a batch ----------------------------------------------------------
    def mark_entered(self, webinar_id: int, connection_ids: list[str]) -> None:
        with self._lock:
            local = self._local.get(webinar_id, {})
            self._entered.setdefault(webinar_id, set()).update(c for c in connection_ids if c in local)

    def unmark(self, webinar_id: int, connection_id: str) -> None:
        with self._lock:
            self._entered.get(webinar_id, set()).discard(connection_id)

    def forget_entered(self) -> None:
        with self._lock:
            self._entered.clear()

    def known_entered(self, webinar_id: int, connection_id: str) -> bool:
        """Entered by this process already, or queued in a running go-live batch."""
        with self._lock:
            return connection_id in self._entered.get(webinar_id, ()) \
                or connection_id in self._pending.get(webinar_id, ())

    def queue_waiting(self, webinar_id: int) -> bool:
        """Queue every local connection not yet entered; False when a batch already runs."""
        with self._lock:
            if webinar_id in self._pending:
                return False
            entered = self._entered.get(webinar_id, set())
            self._pending[webinar_id] = {c for c in self._local.get(webinar_id, {}) if c not in entered}
            return True

    def next_batch(self, webinar_id: int, size: int) -> list[tuple[str, int]]:
        with self._lock:
            pending = self._pending.get(webinar_id, set())
            local = self._local.get(webinar_id, {})
            batch = [(c, local[c]) for c in sorted(pending)[:size] if c in local]
            if not batch:
                pending.clear()
            return batch

    def batch_done(self, webinar_id: int, connection_ids: list[str], *, entered: bool) -> None:
        with self._lock:
            pending = self._pending.get(webinar_id, set())
            pending.difference_update(connection_ids)
            if entered:
                local = self._local.get(webinar_id, {})
                self._entered.setdefault(webinar_id, set()).update(c for c in connection_ids if c in local)

    def finish_batches(self, webinar_id: int) -> None:
        with self._lock:
            self._pending.pop(webinar_id, None)
            self._idle.notify_all()

    def settle(self, timeout: float = 30.0) -> bool:
        """Wait until no go-live batch runs (tests)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(min(left, 0.05))
            return True

    # -- writes owed -------------------------------------------------------------------------
    def owe(self, registration_id: int, connection_id: str, what: str, reason: str = "") -> None:
        with self._lock:
            self._owed[(registration_id, connection_id)] = (what, reason)

    def take_owed(self) -> list[tuple[int, str, str, str]]:
        with self._lock:
            owed, self._owed = self._owed, {}
        return [(reg_id, conn, what, reason) for (reg_id, conn), (what, reason) in owed.items()]

    def reowe(self, items: list[tuple[int, str, str, str]]) -> None:
        """Put back what a round could not write, under anything newer owed meanwhile."""
        with self._lock:
            for reg_id, conn, what, reason in items:
                self._owed.setdefault((reg_id, conn), (what, reason))

    def owed_count(self) -> int:
        with self._lock:
            return len(self._owed)

    # -- polls -----------------------------------------------------------------------------
    def note_poll(self, token: str, at: float) -> None:
        with self._lock:
            self._polls[token] = at

    def requeue_polls(self, polls: dict[str, float]) -> None:
        with self._lock:
            for token, at in polls.items():
                self._polls[token] = max(at, self._polls.get(token, at))

    def take_polls(self) -> dict[str, float]:
        with self._lock:
            polls, self._polls = self._polls, {}
            return polls


def init_app(app: Flask) -> None:
    app.extensions[EXTENSION] = Presence()
    keeper = leases.init_app(app)
    keeper.hooks.append(flush_polls)
    keeper.hooks.append(lambda: retry_owed(app))
    keeper.on_lapse.append(lambda: reenter_local(app))
    signals.connect(app, signals.event_committed, on_event_committed)
    if concurrency.gevent_active():  # a gunicorn worker booting: the pass at start, now
        keeper.ensure_started()


def registry(app: Flask | None = None) -> Presence:
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    return app.extensions[EXTENSION]


# --- sockets ---------------------------------------------------------------------------------

def connected(reg: Registration | None, *, connection_id: str) -> None:
    """A room socket opened: remember it and, while the webinar runs, enter the lead."""
    if reg is None:  # the registration vanished between the handshake and now
        return
    leases.current().ensure_started()
    reg_id = reg.registration_id  # read now: a rolled-back retry expires `reg`
    registry().add(reg.webinar_id, connection_id, reg_id)
    if _unit_of_work(lambda: _enter_if_running(reg, connection_id)) is None:
        registry().owe(reg_id, connection_id, ENTER)


def disconnected(reg: Registration | None, *, connection_id: str, reason: str) -> None:
    """A room socket closed: close its attendance row (the lead's last one emits left)."""
    if reg is not None:
        closed(reg.registration_id, reg.webinar_id, connection_id=connection_id, reason=reason)


def closed(registration_id: int | None, webinar_id: int | None, *, connection_id: str, reason: str) -> None:
    """`disconnected` by ids, as a socket knows them without the database (which may be the
    reason it closed): the registration is read inside the retried write."""
    if registration_id is None or webinar_id is None:
        return
    registry().remove(webinar_id, connection_id)

    def leave() -> bool:
        reg = db.session.get(Registration, registration_id)
        return reg is not None and _leave(reg, connection_id, reason)

    if _unit_of_work(leave) is None:
        registry().owe(registration_id, connection_id, LEAVE, reason)


def ensure_entered(reg: Registration, *, connection_id: str) -> None:
    """The client saw the room go live (socket frame "enter"): enter if not yet done.

    Free when this process entered the connection already or queued it in a go-live batch;
    the first such frame of a webinar in a process that holds other waiting connections
    starts the batches for all of them."""
    presence = registry()
    if presence.known_entered(reg.webinar_id, connection_id):
        return
    waiting = presence.of(reg.webinar_id)
    if len(waiting) > 1 and connection_id in waiting:
        schedule_entering(current_app._get_current_object(), reg.webinar_id)  # type: ignore[attr-defined]
        return
    reg_id = reg.registration_id
    if _unit_of_work(lambda: _enter_if_running(reg, connection_id)) is None:
        presence.owe(reg_id, connection_id, ENTER)


def known_entered(webinar_id: int | None, connection_id: str) -> bool:
    """Has this process entered the connection, or queued it in a running go-live batch?"""
    return webinar_id is not None and registry().known_entered(webinar_id, connection_id)


def left_page(reg: Registration, *, connection_id: str) -> None:
    """The page was closed or hidden (room.js says goodbye): leave with reason 'left'."""
    reg_id = reg.registration_id
    registry().unmark(reg.webinar_id, connection_id)  # still connected, no longer entered
    if _unit_of_work(lambda: _leave(reg, connection_id, "left")) is None:
        registry().owe(reg_id, connection_id, LEAVE, "left")


def local_connections(webinar_id: int) -> dict[str, int]:
    """This process's room connections of a webinar: {connection_id: registration_id}."""
    return registry().of(webinar_id)


# --- go-live ---------------------------------------------------------------------------------

def on_event_committed(envelope: dict, *, app: Flask, **_: object) -> None:
    """After the go-live commit (and its push): enter the waiting connections in batches."""
    if envelope.get("event") != "webinar_status_changed":
        return
    data = envelope.get("data") or {}
    if data.get("to") == Status.live.value and data.get("from") == Status.scheduled.value:
        schedule_entering(app, int(envelope["webinar_id"]))


def schedule_entering(app: Flask, webinar_id: int) -> bool:
    """Enter this process's waiting connections of a webinar in the background (batches)."""
    if not registry(app).queue_waiting(webinar_id):
        return False
    concurrency.spawn(_enter_in_batches, app, webinar_id)
    return True


def reenter_local(app: Flask) -> None:
    """After a lapsed lease (our rows may have been closed by another worker's sweeper):
    enter every connection of this process again (idempotent per open row)."""
    presence = registry(app)
    presence.forget_entered()
    for webinar_id in presence.webinars():
        schedule_entering(app, webinar_id)


def _enter_in_batches(app: Flask, webinar_id: int) -> None:
    presence = registry(app)
    size = int(app.config.get("ATTENDANCE_GO_LIVE_BATCH", GO_LIVE_BATCH))
    entered = 0
    time.sleep(0)  # under gevent: the go-live request finishes (its push and answer) first
    try:
        with app.app_context():
            while True:
                batch = presence.next_batch(webinar_id, size)
                if not batch:
                    break
                ids = [c for c, _ in batch]
                waiting: set[str] = set()  # another start time's registrants: not entered, not marked
                result = _with_retries(lambda b=batch, w=waiting: _enter_batch(webinar_id, b, waiting=w))
                if result is None:  # the webinar stopped (or the writes kept failing): nothing to do
                    presence.batch_done(webinar_id, ids, entered=False)
                    break
                presence.batch_done(webinar_id, [c for c in ids if c not in waiting], entered=True)
                presence.batch_done(webinar_id, sorted(waiting), entered=False)
                entered += result
                time.sleep(0)  # let the worker serve its sockets between batches
            db.session.remove()
    except Exception:
        log.exception("go-live entering of webinar %s failed", webinar_id)
    finally:
        presence.finish_batches(webinar_id)
    log.info("webinar %s: %s waiting connections entered", webinar_id, entered)


def _enter_batch(webinar_id: int, batch: list[tuple[str, int]], *, waiting: set[str]) -> int | None:
    """One transaction: lock the leads, re-check the status, insert the rows, emit entered.
    Connections of registrants whose start time is not the running one go into `waiting`."""
    webinar = db.session.get(Webinar, webinar_id)
    if webinar is None or webinar.type != WebinarType.live.value:
        return None
    wanted = select(Registration).where(Registration.registration_id.in_({r for _, r in batch}))
    leads = {(webinar_id, lead_id) for lead_id in db.session.scalars(wanted.with_only_columns(Registration.lead_id))}
    if not ledger.lock_running(webinar_id, leads, statuses=ATTENDING):
        return None
    db.session.refresh(webinar, ["status", "run_starts_at"])  # the run, as locked
    # Read under the locks: a ban or a revoke while waiting counts.
    regs = {r.registration_id: r for r in db.session.scalars(wanted.execution_options(populate_existing=True))}
    session_of: dict[int | None, str] = {}
    entries = []
    for connection_id, registration_id in batch:
        reg = regs.get(registration_id)
        if reg is None or not reg.has_access:
            continue
        if not sessions.in_current_run(reg, webinar):
            waiting.add(connection_id)  # another start time's registrant waits for their own run
            continue
        if reg.slot_id not in session_of:
            session_of[reg.slot_id] = sessions.live_session_id(webinar, slot_id=reg.slot_id)
        entries.append((reg, session_of[reg.slot_id], connection_id))
    opened = ledger.enter_many(webinar_id, entries)
    db.session.commit()
    return opened


def settle(app: Flask | None = None, timeout: float = 30.0) -> bool:
    """Wait until this process's go-live batches are done (tests, the bench)."""
    return registry(app).settle(timeout)


# --- HTTP presence -----------------------------------------------------------------------------

def polled(token: str) -> None:
    """The polling state endpoint was asked by `token`'s page: noted in memory only (the
    keeper enters or touches it within a second)."""
    if not token or len(token) > _TOKEN_MAX:
        return
    registry().note_poll(token, time.time())
    leases.current().ensure_started()


def flush_polls(app: Flask | None = None) -> int:
    """Write the polls noted since the last flush: enter new polling pages of running live
    webinars, move `seen_at` of known ones. One transaction; returns rows entered or touched."""
    polls = registry(app).take_polls()
    if not polls:
        return 0
    try:
        done = _flush_polls(polls)
        db.session.commit()
        return done
    except Exception:
        db.session.rollback()
        registry(app).requeue_polls(polls)  # try again next tick
        raise


def _flush_polls(polls: dict[str, float]) -> int:
    by_webinar: dict[int, list[Registration]] = {}
    polled_at: dict[int, float] = {}  # registration id -> its page's last poll
    for token, reg in find_registrations(polls).items():  # a query per 500 tokens, access checked
        by_webinar.setdefault(reg.webinar_id, []).append(reg)
        polled_at[reg.registration_id] = polls[token]
    done = 0
    for webinar_id, group in sorted(by_webinar.items()):
        webinar = db.session.get(Webinar, webinar_id)
        if webinar is None or webinar.type != WebinarType.live.value or webinar.status not in ATTENDING:
            continue
        seen = {r.lead_id: _at(polled_at[r.registration_id]) for r in group}
        rows = db.session.execute(select(Attendance.attendance_id, Attendance.lead_id, Attendance.seen_at).where(
            Attendance.webinar_id == webinar_id, Attendance.left_at.is_(None),
            Attendance.connection_id == HTTP_CONNECTION, Attendance.lead_id.in_(list(seen)))).all()
        have = {lead_id for _, lead_id, _ in rows}
        stale = {aid: seen[lead_id] for aid, lead_id, at in rows
                 if at is None or at < seen[lead_id] - timedelta(seconds=HTTP_TOUCH_SECONDS)}
        ledger.touch(stale)
        done += len(stale)
        new = [r for r in group if r.lead_id not in have]
        if new and ledger.lock_running(webinar_id, {(webinar_id, r.lead_id) for r in new}, statuses=ATTENDING):
            db.session.refresh(webinar, ["status", "run_starts_at"])
            for reg in (r for r in new if sessions.in_current_run(r, webinar)):
                ledger.enter(reg, session_id=sessions.session_for(reg), connection_id=HTTP_CONNECTION,
                             seen_at=seen[reg.lead_id])
                done += 1
    return done


def _at(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


# --- one connection ----------------------------------------------------------------------------

def _enter_if_running(reg: Registration, connection_id: str) -> bool:
    webinar = db.session.get(Webinar, reg.webinar_id, populate_existing=True)
    if webinar is None or webinar.type != WebinarType.live.value:
        return False  # auto sessions are entered by the AutoWebinar runtime
    if webinar.status not in ATTENDING:
        return False
    # Re-read the status under the lead's lock: a stop that commits meanwhile wins.
    if not ledger.lock_running(reg.webinar_id, {(reg.webinar_id, reg.lead_id)}, statuses=ATTENDING):
        return False
    db.session.refresh(reg)
    db.session.refresh(webinar, ["status", "run_starts_at"])
    if not reg.has_access or not sessions.in_current_run(reg, webinar):
        return False
    ledger.enter(reg, session_id=sessions.session_for(reg), connection_id=connection_id)
    registry().mark_entered(reg.webinar_id, [connection_id])
    return True


def _leave(reg: Registration, connection_id: str, reason: str) -> bool:
    # Whatever opened the row (live presence or the AutoWebinar runtime), the socket is gone.
    session_id = ledger.open_session_of(reg, connection_id=connection_id)
    if session_id is None:
        return False
    return ledger.leave(reg, session_id=session_id, connection_id=connection_id, reason=reason)


def _retryable(error: Exception) -> bool:
    return isinstance(error, OperationalError) or (isinstance(error, DBAPIError) and error.connection_invalidated)


def _with_retries(work: Callable[[], int | None]) -> int | None:
    """Run a unit of work that commits itself, retrying database errors with back-off."""
    for delay in (*RETRY_DELAYS, None):
        try:
            return work()
        except Exception as error:
            db.session.rollback()
            if delay is None or not _retryable(error):
                log.exception("presence write failed")
                return None
            log.warning("presence write failed (%s); retrying in %.1f s", type(error).__name__, delay)
            time.sleep(delay)
    return None


def _unit_of_work(work: Callable[[], bool]) -> bool | None:
    """Run `work` and commit: whether it changed anything, or None when a database error
    outlasted the retries (rolled back and logged, never raised into a socket; the caller
    owes the write to `retry_owed`)."""
    def attempt() -> int:
        changed = bool(work())
        db.session.commit()
        return int(changed)

    result = _with_retries(attempt)
    return None if result is None else bool(result)


def retry_owed(app: Flask | None = None) -> int:
    """The keeper's round (each second): the presence writes given up while the database was
    away, one attempt each, oldest first; an enter only while its socket is still open here.
    The first that fails on the database again puts the rest back for the next round."""
    presence = registry(app)
    owed = presence.take_owed()
    for index, (registration_id, connection_id, what, reason) in enumerate(owed):
        try:
            reg = db.session.get(Registration, registration_id)
            if reg is not None and what == ENTER:
                if connection_id in presence.of(reg.webinar_id):
                    _enter_if_running(reg, connection_id)
            elif reg is not None:
                _leave(reg, connection_id, reason)
            db.session.commit()
        except Exception as error:
            db.session.rollback()
            if _retryable(error):
                log.warning("owed presence writes wait for the database (%s)", type(error).__name__)
                presence.reowe(owed[index:])
                return index
            log.exception("owed presence write dropped")
    return len(owed)
