"""The attendance ledger: entered / left / completed facts and their events.

Rules (documented in docs and tests):
- One row per socket connection; a lead with several tabs has several open rows but is ONE
  presence: `client_webinar_entered` goes out when the lead's first connection opens in a
  session, `client_webinar_left` when the last one closes.
- Live completion rule: at `stop`, a lead completes the live webinar when they are present at
  that moment OR watched at least the webinar's `completion_percent` (default 50) of the live
  time (the union of their connections' intervals inside [started_at, finished_at]). Each lead gets
  `client_webinar_completed` at most once per session.

These functions write into the caller's transaction and never commit: the caller owns the
unit of work (the presence module, the stop transaction, AutoWebinar's heartbeat). Every
change of who is present queues `signals.attendance_changed` for after that commit.
"""
from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import exists, func, insert, select, tuple_, update

from portal.attendance.models import LEAVE_REASONS, Attendance
from portal.core import events
from portal.core.models import Webinar
from portal.db_types import utcnow
from portal.errors import Invalid
from portal.extensions import db
from portal.registration.models import Registration
from portal.signals import after_commit, attendance_changed

log = logging.getLogger(__name__)

COMPLETION_SHARE = 0.5
LEASES = "portal.attendance.leases"  # the keeper's app.extensions key (leases.EXTENSION)


def serialise_lead(reg: Registration) -> None:
    """Take the registration's row lock, so one lead's concurrent tabs act one after another."""
    # A no-op UPDATE: a row lock on PostgreSQL, the write lock on SQLite.
    db.session.execute(
        update(Registration)
        .where(Registration.registration_id == reg.registration_id)
        .values(registration_id=Registration.registration_id)
        .execution_options(synchronize_session=False)
    )


def lock_leads(pairs: set[tuple[int, int]] | list[tuple[int, int]]) -> None:
    """Take the registration locks of several (webinar_id, lead_id) at once, in id order (so
    two batches never deadlock); on SQLite the database write lock."""
    if not pairs:
        return
    match = tuple_(Registration.webinar_id, Registration.lead_id).in_(sorted(set(pairs)))
    if _dialect() == "postgresql":
        db.session.execute(select(Registration.registration_id).where(match)
                           .order_by(Registration.registration_id).with_for_update())
    else:
        db.session.execute(update(Registration).where(match).values(registration_id=Registration.registration_id)
                           .execution_options(synchronize_session=False))


def lock_running(webinar_id: int, pairs: set[tuple[int, int]], *, statuses: tuple[str, ...]) -> bool:
    """Before entering: lock the leads and read the webinar's status so that it cannot change
    until this transaction ends; True when it is one of `statuses`.

    A status change (stop) and an entering serialise: on PostgreSQL the webinar row is read
    FOR SHARE (the stop's UPDATE holds it exclusively until it commits; the webinar is always
    locked before the leads), on SQLite the leads' no-op UPDATE takes the database write
    lock before the status is read. Either the stop commits first and nothing is entered, or
    the entering commits first and the stop closes its row.
    """
    query = select(Webinar.status).where(Webinar.webinar_id == webinar_id)
    if _dialect() == "postgresql":
        status = db.session.execute(query.with_for_update(read=True)).scalar()
        lock_leads(pairs)
    else:
        lock_leads(pairs)
        status = db.session.execute(query).scalar()
    return status in statuses


def enter(reg: Registration, *, session_id: str, connection_id: str, seen_at: datetime | None = None) -> Attendance:
    """Open the attendance row of one connection; the lead's first open row emits entered.

    The row carries this process's worker id (its lease keeps the row open: the process
    holds the socket, or the auto-webinar HTTP connection in memory); with `seen_at` it is
    an HTTP-presence row (a polling page), held by no worker and kept by its polls instead.
    """
    serialise_lead(reg)
    row = _open_row(reg, session_id=session_id, connection_id=connection_id)
    if row is not None:
        return row
    first = not _has_open(reg.lead_id, session_id)
    row = Attendance(
        webinar_id=reg.webinar_id,
        lead_id=reg.lead_id,
        session_id=session_id,
        connection_id=connection_id[:64],
        entered_at=utcnow(),
        worker_id=None if seen_at is not None else this_worker(),
        seen_at=seen_at,
    )
    db.session.add(row)
    db.session.flush()
    _changed(reg.webinar_id)
    if first:
        _emit_entered(reg, session_id, at=row.entered_at)
    return row


def enter_many(webinar_id: int, entries: list[tuple[Registration, str, str]]) -> int:
    """Open the rows of many connections at once [(registration, session_id, connection_id)]
    (the go-live batches): one SELECT of the open rows, one multi-row INSERT, and
    `client_webinar_entered` for each lead that had no open row in its session. The caller
    holds the leads' locks (lock_running). Returns how many rows were opened."""
    if not entries:
        return 0
    leads = {reg.lead_id for reg, _, _ in entries}
    sessions = {session_id for _, session_id, _ in entries}
    open_now = {tuple(r) for r in db.session.execute(
        select(Attendance.session_id, Attendance.lead_id, Attendance.connection_id).where(
            Attendance.left_at.is_(None), Attendance.lead_id.in_(leads), Attendance.session_id.in_(sessions))
    )}
    present = {(session_id, lead_id) for session_id, lead_id, _ in open_now}
    now = utcnow()
    worker_id = this_worker()
    rows: list[dict] = []
    first: list[tuple[Registration, str]] = []
    for reg, session_id, connection_id in entries:
        key = (session_id, reg.lead_id, connection_id[:64])
        if key in open_now:
            continue
        open_now.add(key)
        rows.append({"webinar_id": webinar_id, "lead_id": reg.lead_id, "session_id": session_id,
                     "connection_id": connection_id[:64], "entered_at": now, "worker_id": worker_id})
        if (session_id, reg.lead_id) not in present:
            present.add((session_id, reg.lead_id))
            first.append((reg, session_id))
    if not rows:
        return 0
    db.session.execute(insert(Attendance), rows)
    for reg, session_id in first:
        _emit_entered(reg, session_id, at=now)
    db.session.flush()
    _changed(webinar_id)
    return len(rows)


def close_rows(rows: list[Attendance], *, reason: str, at: Callable[[Attendance], datetime]) -> int:
    """Close open rows whose socket or page is gone (the sweeper: a dead worker, a silent
    poller) under their leads' locks; `at(row)` is when it was last known present. A lead
    whose last open row in a session closes gets `client_webinar_left` once. Returns how
    many rows were still open and got closed."""
    if not rows:
        return 0
    lock_leads({(r.webinar_id, r.lead_id) for r in rows})
    fresh = list(db.session.scalars(
        select(Attendance).where(Attendance.attendance_id.in_([r.attendance_id for r in rows]),
                                 Attendance.left_at.is_(None))
        .order_by(Attendance.attendance_id).execution_options(populate_existing=True)))
    for row in fresh:
        _close(row, reason=reason, at=at(row))
    db.session.flush()
    touched = sorted({(r.webinar_id, r.lead_id, r.session_id) for r in fresh})
    if not touched:
        return 0
    still_open = {tuple(r) for r in db.session.execute(
        select(Attendance.lead_id, Attendance.session_id).where(
            Attendance.left_at.is_(None), Attendance.lead_id.in_({t[1] for t in touched}),
            Attendance.session_id.in_({t[2] for t in touched})))}
    for webinar_id, lead_id, session_id in touched:
        if (lead_id, session_id) not in still_open:
            _emit_left(webinar_id, lead_id, session_id, reason)
    for webinar_id in sorted({t[0] for t in touched}):
        _changed(webinar_id)
    return len(fresh)


def touch(rows: dict[int, datetime]) -> None:
    """Move the `seen_at` of HTTP-presence rows {attendance_id: seen} forward."""
    for attendance_id, seen in rows.items():
        db.session.execute(update(Attendance).where(Attendance.attendance_id == attendance_id,
                                                    Attendance.left_at.is_(None))
                           .values(seen_at=seen).execution_options(synchronize_session=False))


def leave(reg: Registration, *, session_id: str, connection_id: str, reason: str) -> bool:
    """Close one connection's row; the lead's last open row emits left with its reason.

    Returns whether a row was open (False: nothing to do, e.g. already closed at stop).
    """
    if reason not in LEAVE_REASONS:
        raise Invalid("Unknown leave reason %(reason)s.", reason=reason)
    serialise_lead(reg)
    row = _open_row(reg, session_id=session_id, connection_id=connection_id)
    if row is None:
        return False
    _close(row, reason=reason, at=utcnow())
    db.session.flush()
    _changed(reg.webinar_id)
    if not _has_open(reg.lead_id, session_id):
        _emit_left(reg.webinar_id, reg.lead_id, session_id, reason)
    return True


def open_session_of(reg: Registration, *, connection_id: str) -> str | None:
    """The session in which this connection of the lead has an open row, if any."""
    return db.session.scalar(
        select(Attendance.session_id).where(
            Attendance.webinar_id == reg.webinar_id,
            Attendance.lead_id == reg.lead_id,
            Attendance.connection_id == connection_id[:64],
            Attendance.left_at.is_(None),
        ).limit(1)
    )


def leave_everywhere(reg: Registration, *, reason: str) -> bool:
    """Close every open row of the registration's lead in this webinar (ban, revoke)."""
    serialise_lead(reg)
    rows = db.session.scalars(
        select(Attendance).where(
            Attendance.webinar_id == reg.webinar_id,
            Attendance.lead_id == reg.lead_id,
            Attendance.left_at.is_(None),
        )
    ).all()
    now = utcnow()
    for session_id in sorted({r.session_id for r in rows}):
        for row in rows:
            if row.session_id == session_id:
                _close(row, reason=reason, at=now)
        _emit_left(reg.webinar_id, reg.lead_id, session_id, reason)
    db.session.flush()
    if rows:
        _changed(reg.webinar_id)
    return bool(rows)


def complete(reg: Registration, *, session_id: str) -> None:
    """Mark the lead's participation in a session completed; emits completed once."""
    serialise_lead(reg)
    already = db.session.scalar(
        select(exists().where(
            Attendance.session_id == session_id,
            Attendance.lead_id == reg.lead_id,
            Attendance.completed_at.is_not(None),
        ))
    )
    if already:
        return
    now = utcnow()
    row = db.session.scalar(
        select(Attendance)
        .where(Attendance.session_id == session_id, Attendance.lead_id == reg.lead_id)
        .order_by(Attendance.entered_at.desc(), Attendance.attendance_id.desc())
        .limit(1)
    )
    if row is None:  # completed without a recorded entry (e.g. an auto session resumed offline)
        row = Attendance(webinar_id=reg.webinar_id, lead_id=reg.lead_id, session_id=session_id,
                         connection_id="complete", entered_at=now, left_at=now, leave_reason="left")
        db.session.add(row)
    row.completed_at = now
    db.session.flush()
    _emit_completed(reg.webinar_id, reg.lead_id, session_id, data={"rule": "auto_progress_100"})


def finish_live(webinar: Webinar, *, session_ids: list[str]) -> dict[str, int]:
    """Stop transaction: close every open row (webinar_finished), emit left and completed.

    Returns counts for the log: {"left": n, "completed": m}.
    """
    if not session_ids:
        return {"left": 0, "completed": 0}
    now = utcnow()
    rows = db.session.scalars(
        select(Attendance)
        .where(Attendance.session_id.in_(session_ids))
        .order_by(Attendance.lead_id, Attendance.entered_at, Attendance.attendance_id)
        .with_for_update()
    ).all()
    by_lead: dict[tuple[int, str], list[Attendance]] = defaultdict(list)
    for row in rows:
        by_lead[(row.lead_id, row.session_id)].append(row)
    live_start = webinar.started_at or min((r.entered_at for r in rows), default=now)
    left = completed = 0
    for (lead_id, session_id), lead_rows in by_lead.items():
        present = any(r.left_at is None for r in lead_rows)
        watched = watched_seconds(lead_rows, start=live_start, end=now)
        if present:
            for row in lead_rows:
                if row.left_at is None:
                    _close(row, reason="webinar_finished", at=now)
            _emit_left(webinar.webinar_id, lead_id, session_id, "webinar_finished")
            _changed(webinar.webinar_id)
            left += 1
        if any(r.completed_at is not None for r in lead_rows):
            continue
        if completes_live(present=present, watched=watched, live=(now - live_start).total_seconds(),
                          share=(webinar.completion_percent or 50) / 100):
            lead_rows[-1].completed_at = now
            _emit_completed(webinar.webinar_id, lead_id, session_id,
                            data={"rule": "present_at_end" if present else "watched_share",
                                  "watched_sec": int(watched)})
            completed += 1
    db.session.flush()
    return {"left": left, "completed": completed}


def completes_live(*, present: bool, watched: float, live: float, share: float = COMPLETION_SHARE) -> bool:
    """The live completion rule: present at stop, or watched >= `share` of it (the webinar's
    `completion_percent`, issue 12; COMPLETION_SHARE by default)."""
    if present:
        return True
    return live > 0 and watched >= share * live


def watched_seconds(rows: list[Attendance], *, start: datetime, end: datetime) -> float:
    """Seconds covered by the union of the rows' intervals, clipped to [start, end]."""
    spans = sorted(
        (max(r.entered_at, start), min(r.left_at or end, end)) for r in rows
    )
    total = timedelta()
    cur_start: datetime | None = None
    cur_end: datetime | None = None
    for s, e in spans:
        if e <= s:
            continue
        if cur_end is None or s > cur_end:
            if cur_end is not None and cur_start is not None:
                total += cur_end - cur_start
            cur_start, cur_end = s, e
        else:
            cur_end = max(cur_end, e)
    if cur_end is not None and cur_start is not None:
        total += cur_end - cur_start
    return total.total_seconds()


def present_count(webinar_id: int) -> int:
    """How many distinct leads have an open attendance row in the webinar (all processes)."""
    return db.session.scalar(
        select(func.count(func.distinct(Attendance.lead_id))).where(
            Attendance.webinar_id == webinar_id, Attendance.left_at.is_(None)
        )
    ) or 0


def _open_row(reg: Registration, *, session_id: str, connection_id: str) -> Attendance | None:
    return db.session.scalar(
        select(Attendance).where(
            Attendance.session_id == session_id,
            Attendance.lead_id == reg.lead_id,
            Attendance.connection_id == connection_id[:64],
            Attendance.left_at.is_(None),
        )
    )


def _has_open(lead_id: int, session_id: str) -> bool:
    return bool(db.session.scalar(
        select(exists().where(
            Attendance.session_id == session_id,
            Attendance.lead_id == lead_id,
            Attendance.left_at.is_(None),
        ))
    ))


def this_worker() -> str | None:
    """This process's worker id (portal.attendance.leases), its keeper started."""
    keeper = current_app.extensions.get(LEASES)
    if keeper is None:
        return None
    keeper.ensure_started()
    return keeper.worker_id


def _dialect() -> str:
    return db.session.get_bind().dialect.name


def _changed(webinar_id: int) -> None:
    """Who is present changed: the room's count follows once this transaction commits."""
    after_commit(attendance_changed, webinar_id, once=True)


def _close(row: Attendance, *, reason: str, at: datetime) -> None:
    row.left_at = max(at, row.entered_at)
    row.leave_reason = reason


def _emit_entered(reg: Registration, session_id: str, *, at: datetime) -> None:
    events.emit("client_webinar_entered", webinar_id=reg.webinar_id, lead_id=reg.lead_id, session_id=session_id,
                data={"registration_id": reg.registration_id, "webinar_type": reg.webinar_type}, occurred_at=at)
    log.info("lead %s entered webinar %s (session %s)", reg.lead_id, reg.webinar_id, session_id)


def _emit_left(webinar_id: int, lead_id: int, session_id: str, reason: str) -> None:
    events.emit("client_webinar_left", webinar_id=webinar_id, lead_id=lead_id, session_id=session_id,
                data={"leave_reason": reason})
    log.info("lead %s left webinar %s (%s)", lead_id, webinar_id, reason)


def _emit_completed(webinar_id: int, lead_id: int, session_id: str, *, data: dict) -> None:
    events.emit("client_webinar_completed", webinar_id=webinar_id, lead_id=lead_id,
                session_id=session_id, data=data)
    log.info("lead %s completed webinar %s", lead_id, webinar_id)
