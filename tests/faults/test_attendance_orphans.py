"""Issue 9 point 9: attendance rows of a worker that dies are closed within a bounded time.

A real portal process (gunicorn + gevent, one worker, like `make run`) holds real websocket
clients in a live room; the test SIGKILLs the worker (the arbiter starts a new one) or
freezes it with SIGSTOP (its lease runs out while the process lives on), and checks what was
stored and emitted: every orphaned row closed with the right reason, `client_webinar_left`
exactly once per lead, the live count true, and no `client_webinar_completed` for the orphans
at stop. Kinds covered: restarts (a killed worker, a hung one), offline clients (their
sockets die with the worker).
"""
from __future__ import annotations

import json
import os
import signal
import time
from datetime import timedelta
from pathlib import Path

import pytest

LEASE_SECONDS = 3.0


def server_app():
    """gunicorn factory: the portal with a short attendance lease (the test's only override)."""
    from portal import create_app

    return create_app({"ATTENDANCE_LEASE_SECONDS": float(os.environ["PORTAL_TEST_LEASE_SECONDS"])})


def worker_pid(server) -> int | None:
    """The gunicorn worker's pid (the arbiter's only child)."""
    master = server.process.pid
    try:
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    except OSError:
        return None
    return int(children[0]) if children else None


@pytest.fixture
def portal_process(_schema: str, gunicorn_portal):
    """The portal under gunicorn + gevent (one worker) on the test's database, short lease."""
    return gunicorn_portal({"PORTAL_DATABASE_URL": _schema, "PORTAL_TEST_LEASE_SECONDS": str(LEASE_SECONDS),
                            "PORTAL_REDIS_URL": ""},
                           app="tests.faults.test_attendance_orphans:server_app()")


def _wait(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _open_rows(webinar_id: int):
    from sqlalchemy import select

    from portal.attendance.models import Attendance
    from portal.extensions import db

    db.session.rollback()
    return list(db.session.scalars(select(Attendance).where(Attendance.webinar_id == webinar_id,
                                                            Attendance.left_at.is_(None))))


def _events(webinar_id: int, name: str):
    from sqlalchemy import select

    from portal.core.models import OutboxEvent
    from portal.extensions import db

    db.session.rollback()
    return list(db.session.scalars(select(OutboxEvent).where(OutboxEvent.webinar_id == webinar_id,
                                                             OutboxEvent.event == name).order_by(OutboxEvent.id)))


def _join(server, token: str):
    from tests.realtime.conftest import connect, recv_until

    ws = connect(server, f"/ws/room/{token}")
    ws.send(json.dumps({"type": "hello", "last_message_id": 0}))
    snapshot = recv_until(ws, lambda m: 'id="room-count"' in m, timeout=10)
    return ws, snapshot


def _count(html: str) -> int:
    import re

    return int(re.search(r'id="room-count"[^>]*data-count="(\d+)"', html).group(1))


def _rewind(webinar, minutes: int) -> None:
    """The live run started long ago: a few seconds in the room is no "watched share"."""
    from sqlalchemy import update

    from portal.core.guard import core_write
    from portal.core.models import Webinar
    from portal.db_types import utcnow
    from portal.extensions import db

    with core_write():
        db.session.execute(update(Webinar).where(Webinar.webinar_id == webinar.webinar_id)
                           .values(started_at=utcnow() - timedelta(minutes=minutes)))
    db.session.commit()
    db.session.refresh(webinar)


@pytest.fixture
def live_room(make):
    webinar = make.webinar(status="live")
    _rewind(webinar, 120)
    return webinar


def _close_all(clients) -> None:
    from tests.realtime.conftest import _open_clients

    for ws in clients:
        try:
            ws.close(timeout=1)
        except Exception:
            pass
        ws.shutdown()
        if ws in _open_clients:
            _open_clients.remove(ws)


def test_a_killed_worker_s_rows_close_with_server_restart_once_per_lead(app, portal_process, live_room):
    from portal.attendance.models import AttendanceLease
    from portal.core import lifecycle
    from portal.core.permissions import SYSTEM
    from portal.extensions import db
    from tests.realtime.conftest import make_registration

    (two_tabs, two_token), (one_tab, one_token), (later, later_token) = (
        make_registration(live_room) for _ in range(3))
    clients = []
    try:
        for token in (two_token, two_token, one_token):
            ws, _ = _join(portal_process, token)
            clients.append(ws)
        rows = _wait(lambda: len(r := _open_rows(live_room.webinar_id)) == 3 and r, 10, "three open rows")
        worker_ids = {r.worker_id for r in rows}
        assert len(worker_ids) == 1 and None not in worker_ids, "socket rows carry their worker's id"
        (dead_worker,) = worker_ids
        _wait(lambda: db.session.get(AttendanceLease, dead_worker, populate_existing=True), 10, "the lease")
        assert len(_events(live_room.webinar_id, "client_webinar_entered")) == 2

        killed = worker_pid(portal_process)
        os.kill(killed, signal.SIGKILL)
        # The arbiter starts a new worker; its pass at start closes its dead predecessor's rows
        # (this host, process gone) without waiting for the lease to run out.
        _wait(lambda: not _open_rows(live_room.webinar_id), 3 * LEASE_SECONDS + 20, "the orphaned rows to close")
        assert worker_pid(portal_process) not in (None, killed)

        left = _events(live_room.webinar_id, "client_webinar_left")
        assert sorted(e.lead_id for e in left) == sorted([two_tabs.lead_id, one_tab.lead_id]), "once per lead"
        assert {e.data["leave_reason"] for e in left} == {"server_restart"}
        from sqlalchemy import select

        from portal.attendance.models import Attendance

        closed = list(db.session.scalars(select(Attendance).where(Attendance.webinar_id == live_room.webinar_id)))
        assert len(closed) == 3 and {r.leave_reason for r in closed} == {"server_restart"}
        _wait(lambda: db.session.get(AttendanceLease, dead_worker, populate_existing=True) is None, 10,
              "the dead lease to be forgotten")

        # The live count is true: a newcomer on the new worker is alone in the room.
        ws, snapshot = _join(portal_process, later_token)
        clients.append(ws)
        _wait(lambda: len(_open_rows(live_room.webinar_id)) == 1, 10, "the newcomer's row")
        assert _count(snapshot) == 1

        # Stop: the newcomer was present at the end; the orphans (a few seconds of a two-hour
        # run) complete nothing and get no second left.
        lifecycle.core_webinar_set_status(live_room, "stop", actor=SYSTEM)
        completed = _events(live_room.webinar_id, "client_webinar_completed")
        assert [(e.lead_id, e.data["rule"]) for e in completed] == [(later.lead_id, "present_at_end")]
        left = _events(live_room.webinar_id, "client_webinar_left")
        assert sorted((e.lead_id, e.data["leave_reason"]) for e in left) == sorted(
            [(two_tabs.lead_id, "server_restart"), (one_tab.lead_id, "server_restart"),
             (later.lead_id, "webinar_finished")])
    finally:
        _close_all(clients)


def test_a_hung_worker_loses_its_lease_rows_close_with_timeout_and_it_enters_again(app, portal_process, live_room):
    """SIGSTOP: the process lives but renews nothing. Another worker's sweeper (this test
    process) closes its rows with `timeout` once the lease expired and stop completes nobody
    for them; after SIGCONT the worker finds its lease lapsed and enters its sockets again."""
    from portal.attendance import leases
    from portal.extensions import db
    from tests.realtime.conftest import make_registration

    app.config["ATTENDANCE_LEASE_SECONDS"] = LEASE_SECONDS
    (lead, token), = (make_registration(live_room) for _ in range(1))
    clients, hung = [], None
    try:
        ws, _ = _join(portal_process, token)
        clients.append(ws)
        _wait(lambda: len(_open_rows(live_room.webinar_id)) == 1, 10, "the open row")
        hung = worker_pid(portal_process)
        os.kill(hung, signal.SIGSTOP)
        keeper = leases.current()
        keeper.renew()  # this process is a live worker too
        assert keeper.sweep() == 0, "not before the lease runs out"
        time.sleep(LEASE_SECONDS + 0.5)
        assert keeper.sweep() == 1
        left = _events(live_room.webinar_id, "client_webinar_left")
        assert [(e.lead_id, e.data["leave_reason"]) for e in left] == [(lead.lead_id, "timeout")]
        assert _open_rows(live_room.webinar_id) == []

        os.kill(hung, signal.SIGCONT)
        hung = None
        # Its next renewal finds the lease lapsed: the socket it still holds is entered again.
        _wait(lambda: len(_open_rows(live_room.webinar_id)) == 1, 3 * LEASE_SECONDS + 10, "the row to reopen")
        entered = _events(live_room.webinar_id, "client_webinar_entered")
        assert [e.lead_id for e in entered] == [lead.lead_id, lead.lead_id]
        assert len(_events(live_room.webinar_id, "client_webinar_left")) == 1
        db.session.rollback()
    finally:
        if hung is not None:
            os.kill(hung, signal.SIGCONT)
        _close_all(clients)
