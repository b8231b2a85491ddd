"""Worker leases and the sweeper: open attendance rows never outlive the process holding them.

Every process that serves room sockets has a worker id (host, pid and a random part, new
after a fork) and a row in `attendance_lease` that it renews every third of the lease
(`ATTENDANCE_LEASE_SECONDS`). Every attendance row a process opens carries its worker id
(room sockets, and AutoWebinar's connections, which live in that process's memory too); only
HTTP-presence rows carry none. A background keeper in each process (a `portal.background`
loop: a thread, a greenlet under gunicorn's gevent workers) ticks every second and:

- flushes the polls of pages living on HTTP (presence.flush_polls: their rows carry no
  worker and are kept alive by `seen_at`);
- renews this worker's lease; a renewal that finds the lease lapsed (a database blip longer
  than the lease: others may have closed our rows) enters this process's sockets again;
- sweeps: closes the open rows of every worker that stopped (`stopped_at`) or died (same
  host, process gone) with `server_restart`, of every worker whose lease expired with
  `timeout`, and the HTTP-presence rows whose polls stopped with `timeout`; then forgets
  those leases. Its first tick is the pass at start: a restarted worker closes its dead
  predecessors' rows at once. The ledger emits `client_webinar_left` when a lead's last open
  row closes, so a lead gets it once whichever worker sweeps (rows are re-read under the
  leads' locks).

A row therefore stays open at most a lease plus a tick after its worker died (`timeout`
bound), or a tick after a same-host restart. At exit the keeper closes its own rows with
`server_restart` and marks its lease stopped. The stop transaction sweeps the webinar first
(`sweep_webinar`), so the rows of dead workers never count as "present at the end".

The keeper does not run in test apps (TESTING) unless ATTENDANCE_KEEPER is set; tests call
`tick()` by hand.
"""
from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from flask import Flask, current_app
from sqlalchemy import delete, select, update

from portal.attendance import ledger
from portal.attendance.models import Attendance, AttendanceLease
from portal.background import Loop
from portal.db_types import utcnow
from portal.extensions import db

log = logging.getLogger(__name__)

EXTENSION = ledger.LEASES
LEASE_SECONDS = 30.0  # default; app.config["ATTENDANCE_LEASE_SECONDS"]
HTTP_STALE_SECONDS = 45.0  # default; app.config["ATTENDANCE_HTTP_STALE_SECONDS"]
TICK_SECONDS = 1.0  # the keeper's cadence (HTTP presence flush, sweeps)
SWEEP_CHUNK = 500  # rows closed per transaction (short write locks on SQLite)
SERVER_RESTART, TIMEOUT = "server_restart", "timeout"


def _hostname() -> str:
    return socket.gethostname()[:200]


class Keeper:
    """This process's lease and background sweeper for one app."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.hooks: list[Callable[[], object]] = []  # run each tick before the sweep (HTTP presence)
        self.on_lapse: list[Callable[[], object]] = []  # after a lapsed lease was renewed
        self._lock = threading.Lock()
        self._pid: int | None = None
        self._worker_id = ""
        self._renew_due = 0.0
        self._sweep_due = 0.0
        self._loop = Loop("attendance-keeper", self.tick, interval=TICK_SECONDS, final=self._release_at_exit)

    # -- identity --------------------------------------------------------------------------
    @property
    def worker_id(self) -> str:
        """This process's worker id (a new one after a fork)."""
        pid = os.getpid()
        if self._pid != pid:
            with self._lock:
                if self._pid != pid:
                    self._worker_id = f"{_hostname()[:40]}:{pid}:{secrets.token_hex(6)}"
                    self._pid = pid
                    self._renew_due = self._sweep_due = 0.0
        return self._worker_id

    @property
    def lease_seconds(self) -> float:
        return float(self.app.config.get("ATTENDANCE_LEASE_SECONDS", LEASE_SECONDS))

    @property
    def http_stale_seconds(self) -> float:
        return float(self.app.config.get("ATTENDANCE_HTTP_STALE_SECONDS", HTTP_STALE_SECONDS))

    # -- the background loop (portal.background) -------------------------------------------
    @property
    def enabled(self) -> bool:
        if self.lease_seconds <= 0:
            return False
        return not self.app.testing or bool(self.app.config.get("ATTENDANCE_KEEPER"))

    @property
    def running(self) -> bool:
        return self._loop.running

    def ensure_started(self) -> None:
        """Start the keeper once per process (cheap when running)."""
        if self.running or not self.enabled:
            return
        worker_id = self.worker_id  # first: a forked child gets its own id before its first tick
        if self._loop.start(self.app):
            log.info("attendance keeper runs as worker %s", worker_id)

    def tick(self, *, force: bool = False) -> None:
        """One round: hooks, then renew and sweep when due (`force`: both now)."""
        for hook in self.hooks:
            self._guarded(hook, "attendance hook")
        now = time.monotonic()
        if force or now >= self._renew_due:
            if self._guarded(self.renew, "lease renewal"):
                self._renew_due = now + self.lease_seconds / 3
        if force or now >= self._sweep_due:
            if self._guarded(self.sweep, "attendance sweep"):
                self._sweep_due = now + max(TICK_SECONDS, self.lease_seconds / 6)

    def _guarded(self, fn: Callable[[], object], what: str) -> bool:
        try:
            fn()
            return True
        except Exception:
            db.session.rollback()
            log.exception("%s failed; will retry", what)
            return False

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the loop; its last act closes this worker's open rows (server_restart) and
        marks the lease stopped."""
        self._loop.stop(timeout)

    def _release_at_exit(self) -> None:
        try:
            self.release()
        except Exception:
            db.session.rollback()
            log.exception("attendance lease release failed")

    # -- the database side -----------------------------------------------------------------
    def renew(self) -> bool:
        """Extend this worker's lease (inserting it the first time). Returns whether it had
        lapsed (then the on_lapse callbacks run: our rows may have been closed by others)."""
        worker_id = self.worker_id
        now = utcnow()
        expires = now + timedelta(seconds=self.lease_seconds)
        lease = db.session.get(AttendanceLease, worker_id, populate_existing=True)
        lapsed = False
        if lease is None:
            db.session.add(AttendanceLease(worker_id=worker_id, hostname=_hostname(), pid=os.getpid(),
                                           started_at=now, renewed_at=now, expires_at=expires))
            lapsed = self._ever_renewed
        else:
            lapsed = lease.expires_at < now or lease.stopped_at is not None
            lease.renewed_at, lease.expires_at, lease.stopped_at = now, expires, None
        db.session.commit()
        self._ever_renewed = True
        if lapsed:
            log.warning("attendance lease of %s had lapsed; entering this worker's sockets again", worker_id)
            for callback in self.on_lapse:
                self._guarded(callback, "re-entering after a lapsed lease")
        return lapsed

    _ever_renewed = False

    def sweep(self) -> int:
        """Close the rows of stopped, dead and expired workers and of silent HTTP pages."""
        return sweep(self.worker_id, http_stale_seconds=self.http_stale_seconds, commit=True)

    def release(self) -> None:
        """At exit: close this worker's open rows (server_restart) and mark its lease stopped."""
        worker_id = self.worker_id
        now = utcnow()
        while True:
            rows = list(db.session.scalars(
                select(Attendance).where(Attendance.worker_id == worker_id, Attendance.left_at.is_(None))
                .order_by(Attendance.attendance_id).limit(SWEEP_CHUNK)))
            if not rows:
                break
            ledger.close_rows(rows, reason=SERVER_RESTART, at=lambda _row: now)
            db.session.commit()
        db.session.execute(update(AttendanceLease).where(AttendanceLease.worker_id == worker_id)
                           .values(stopped_at=now, expires_at=now))
        db.session.commit()


# -- sweeping (also inside the stop transaction) ------------------------------------------------

def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def dead_workers(me: str, *, now: datetime) -> dict[str, tuple[str, datetime]]:
    """{worker_id: (reason, last sign of life)} of every other worker that stopped, died on
    this host, or let its lease expire."""
    host = _hostname()
    dead: dict[str, tuple[str, datetime]] = {}
    for lease in db.session.scalars(select(AttendanceLease).where(AttendanceLease.worker_id != me)):
        if lease.stopped_at is not None:
            dead[lease.worker_id] = (SERVER_RESTART, lease.stopped_at)
        elif lease.hostname == host and (lease.pid == os.getpid() or not _pid_alive(lease.pid)):
            dead[lease.worker_id] = (SERVER_RESTART, lease.renewed_at)  # our predecessor, or gone
        elif lease.expires_at < now:
            dead[lease.worker_id] = (TIMEOUT, lease.renewed_at)
    return dead


def sweep(me: str, *, http_stale_seconds: float, webinar_id: int | None = None, commit: bool) -> int:
    """Close orphaned open rows; returns how many. `webinar_id` limits it to one webinar and
    `commit=False` writes into the caller's transaction (the stop)."""
    now = utcnow()
    dead = dead_workers(me, now=now)
    known = select(AttendanceLease.worker_id)
    scope = [Attendance.left_at.is_(None)]
    if webinar_id is not None:
        scope.append(Attendance.webinar_id == webinar_id)
    # Rows of a worker that never wrote a lease (or whose lease was forgotten) are orphans
    # once they are older than a lease.
    lease_age = now - timedelta(seconds=float(current_app.config.get("ATTENDANCE_LEASE_SECONDS", LEASE_SECONDS)))
    unknown = set(db.session.scalars(
        select(Attendance.worker_id).distinct().where(
            *scope, Attendance.worker_id.is_not(None), Attendance.worker_id != me,
            Attendance.worker_id.not_in(known), Attendance.entered_at < lease_age)))
    closed = 0
    for worker_id, (reason, last_seen) in [*dead.items(), *((w, (TIMEOUT, lease_age)) for w in unknown)]:
        closed += _close_where(scope + [Attendance.worker_id == worker_id], reason=reason,
                               at=lambda _row, t=last_seen: t, commit=commit)
    stale_before = now - timedelta(seconds=http_stale_seconds)
    closed += _close_where(scope + [Attendance.worker_id.is_(None), Attendance.seen_at.is_not(None),
                                    Attendance.seen_at < stale_before],
                           reason=TIMEOUT, at=lambda row: row.seen_at or now, commit=commit)
    if dead and webinar_id is None:
        # A dead worker's lease goes once none of its rows is open any more.
        still_open = select(Attendance.worker_id).where(Attendance.left_at.is_(None),
                                                        Attendance.worker_id.is_not(None))
        db.session.execute(delete(AttendanceLease).where(AttendanceLease.worker_id.in_(list(dead)),
                                                         AttendanceLease.worker_id.not_in(still_open)))
        if commit:
            db.session.commit()
    if closed:
        log.info("attendance sweep closed %s orphaned rows", closed)
    return closed


def _close_where(where: list, *, reason: str, at: Callable[[Attendance], datetime], commit: bool) -> int:
    closed = 0
    while True:
        rows = list(db.session.scalars(select(Attendance).where(*where)
                                       .order_by(Attendance.attendance_id).limit(SWEEP_CHUNK)))
        if not rows:
            return closed
        closed += ledger.close_rows(rows, reason=reason, at=at)
        if commit:
            db.session.commit()
        if len(rows) < SWEEP_CHUNK:
            return closed


def sweep_webinar(webinar_id: int) -> int:
    """Inside the stop transaction: close the webinar's orphaned rows before the completion
    rule reads who is present."""
    keeper = current(current_app._get_current_object())  # type: ignore[attr-defined]
    return sweep(keeper.worker_id, http_stale_seconds=keeper.http_stale_seconds, webinar_id=webinar_id,
                 commit=False)


def init_app(app: Flask) -> Keeper:
    keeper = app.extensions[EXTENSION] = Keeper(app)
    return keeper


def current(app: Flask | None = None) -> Keeper:
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    return app.extensions[EXTENSION]
