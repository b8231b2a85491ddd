"""Presence and the attendance ledger: tabs, leave reasons, go-live, stop and completion."""
from __future__ import annotations

from datetime import UTC, timedelta

from sqlalchemy import select

from portal.attendance import ledger as attendance
from portal.attendance import presence
from portal.attendance.models import Attendance, LiveSession
from portal.core import lifecycle
from portal.core.models import OutboxEvent
from portal.core.permissions import SYSTEM
from portal.db_types import utcnow
from portal.extensions import db
from portal.room.channels import console_channel, room_channel
from tests.room.conftest import register, room_socket


def events(webinar_id: int, name: str | None = None) -> list[OutboxEvent]:
    query = select(OutboxEvent).where(OutboxEvent.webinar_id == webinar_id).order_by(OutboxEvent.id)
    if name:
        query = query.where(OutboxEvent.event == name)
    return list(db.session.scalars(query))


def rows(lead_id: int) -> list[Attendance]:
    db.session.expire_all()
    return list(db.session.scalars(
        select(Attendance).where(Attendance.lead_id == lead_id).order_by(Attendance.attendance_id)))


def test_several_tabs_are_one_presence(app, make):
    w = make.webinar(status="live")
    a = register(w)
    for conn in ("tab-1", "tab-2", "tab-3"):
        presence.connected(a.reg, connection_id=conn)
    assert attendance.present_count(w.webinar_id) == 1
    assert len([r for r in rows(a.reg.lead_id) if r.left_at is None]) == 3
    assert len(events(w.webinar_id, "client_webinar_entered")) == 1
    presence.connected(a.reg, connection_id="tab-1")  # a repeated connect changes nothing
    assert len(rows(a.reg.lead_id)) == 3

    presence.disconnected(a.reg, connection_id="tab-1", reason="left")
    presence.disconnected(a.reg, connection_id="tab-2", reason="disconnected")
    assert events(w.webinar_id, "client_webinar_left") == []
    assert attendance.present_count(w.webinar_id) == 1
    presence.disconnected(a.reg, connection_id="tab-3", reason="timeout")
    left = events(w.webinar_id, "client_webinar_left")
    assert len(left) == 1 and left[0].data == {"leave_reason": "timeout"} and left[0].lead_id == a.reg.lead_id
    assert [r.leave_reason for r in rows(a.reg.lead_id)] == ["left", "disconnected", "timeout"]
    assert attendance.present_count(w.webinar_id) == 0


def test_rows_are_bound_to_the_live_session_of_the_slot(app, make):
    w = make.webinar(status="live")
    a, b = register(w), register(w)
    presence.connected(a.reg, connection_id="a")
    presence.connected(b.reg, connection_id="b")
    sessions = list(db.session.scalars(select(LiveSession).where(LiveSession.webinar_id == w.webinar_id)))
    assert len(sessions) == 1 and sessions[0].session_type == "live"
    assert {r.session_id for r in rows(a.reg.lead_id) + rows(b.reg.lead_id)} == {sessions[0].session_id}
    entered = events(w.webinar_id, "client_webinar_entered")
    assert {e.session_id for e in entered} == {sessions[0].session_id}
    assert attendance.present_count(w.webinar_id) == 2


def test_count_changes_are_pushed_to_room_and_console(app, make, pushes):
    w = make.webinar(status="live")
    a = register(w)
    presence.connected(a.reg, connection_id="x")
    room = pushes.to(room_channel(w.webinar_id))
    assert room and 'id="room-count"' in room[-1] and 'data-count="1"' in room[-1]
    assert 'data-lang="en"' in room[-1] and 'data-lang="ru"' in room[-1]
    console = pushes.to(console_channel(w.webinar_id))
    assert console and 'id="console-attendees"' in console[-1] and a.reg.lead.display_name in console[-1]
    pushes.clear()
    presence.disconnected(a.reg, connection_id="x", reason="left")
    assert 'data-count="0"' in pushes.to(room_channel(w.webinar_id))[-1]


def test_waiting_room_records_nothing_until_go_live_then_enters_everyone(app, make):
    w = make.webinar(status="scheduled")
    a, b = register(w), register(w)
    presence.connected(a.reg, connection_id="a1")
    presence.connected(a.reg, connection_id="a2")
    presence.connected(b.reg, connection_id="b1")
    assert events(w.webinar_id, "client_webinar_entered") == []
    assert attendance.present_count(w.webinar_id) == 0

    lifecycle.core_webinar_set_status(w, "start", actor=SYSTEM)
    assert presence.settle(app)
    entered = events(w.webinar_id, "client_webinar_entered")
    assert sorted(e.lead_id for e in entered) == sorted([a.reg.lead_id, b.reg.lead_id])
    status = events(w.webinar_id, "webinar_status_changed")[-1]
    assert all(e.id > status.id for e in entered), "entered after the go-live commit, in batches"
    assert attendance.present_count(w.webinar_id) == 2
    # The page's "enter" frame after the go-live push is idempotent.
    presence.ensure_entered(a.reg, connection_id="a1")
    assert len(events(w.webinar_id, "client_webinar_entered")) == 2
    assert len(rows(a.reg.lead_id)) == 2


def test_a_waiting_socket_that_left_is_not_entered(app, make):
    w = make.webinar(status="scheduled")
    a = register(w)
    presence.connected(a.reg, connection_id="gone")
    presence.disconnected(a.reg, connection_id="gone", reason="left")
    lifecycle.core_webinar_set_status(w, "start", actor=SYSTEM)
    assert presence.settle(app)
    assert events(w.webinar_id, "client_webinar_entered") == []
    assert presence.local_connections(w.webinar_id) == {}


def test_stop_closes_attendance_and_emits_left_and_completed_once(app, make, pushes):
    w = make.webinar(status="live")
    stayer, early, tourist = register(w), register(w), register(w)
    presence.connected(stayer.reg, connection_id="s1")
    presence.connected(stayer.reg, connection_id="s2")  # two tabs, still one attendee
    presence.connected(early.reg, connection_id="e1")
    presence.connected(tourist.reg, connection_id="t1")
    presence.disconnected(early.reg, connection_id="e1", reason="left")
    presence.disconnected(tourist.reg, connection_id="t1", reason="left")
    # Make the live run 100 minutes long: `early` watched 60 of them, `tourist` 5.
    started = utcnow() - timedelta(minutes=100)
    _rewind(w, started)
    _set_interval(early.reg.lead_id, started, started + timedelta(minutes=60))
    _set_interval(tourist.reg.lead_id, started + timedelta(minutes=10), started + timedelta(minutes=15))
    _set_interval(stayer.reg.lead_id, started + timedelta(minutes=90), None)

    lifecycle.core_webinar_set_status(w, "stop", actor=SYSTEM)

    left = events(w.webinar_id, "client_webinar_left")
    at_stop = [e for e in left if e.data["leave_reason"] == "webinar_finished"]
    assert [e.lead_id for e in at_stop] == [stayer.reg.lead_id], "present attendees only, once each"
    completed = events(w.webinar_id, "client_webinar_completed")
    assert sorted(e.lead_id for e in completed) == sorted([stayer.reg.lead_id, early.reg.lead_id])
    by_lead = {e.lead_id: e.data["rule"] for e in completed}
    assert by_lead == {stayer.reg.lead_id: "present_at_end", early.reg.lead_id: "watched_share"}
    finished = events(w.webinar_id, "webinar_completed")
    assert len(finished) == 1
    assert all(e.id < finished[0].id for e in at_stop + completed), "before Core's webinar_completed"
    assert all(r.left_at is not None and r.leave_reason == "webinar_finished" for r in rows(stayer.reg.lead_id))
    assert attendance.present_count(w.webinar_id) == 0
    session = db.session.scalar(select(LiveSession).where(LiveSession.webinar_id == w.webinar_id))
    assert session.ended_at is not None

    # The sockets closing afterwards, a repeated stop and late connects add nothing.
    presence.disconnected(stayer.reg, connection_id="s1", reason="left")
    lifecycle.core_webinar_set_status(w, "stop", actor=SYSTEM)
    presence.connected(early.reg, connection_id="late")
    assert len(events(w.webinar_id, "client_webinar_left")) == len(left)
    assert len(events(w.webinar_id, "client_webinar_completed")) == 2
    assert len(events(w.webinar_id, "webinar_completed")) == 1
    # The ended screen reached the room once, after the commit.
    finished_pushes = [h for h in pushes.to(room_channel(w.webinar_id)) if 'data-status="finished"' in h]
    assert len(finished_pushes) == 1


def test_pause_keeps_attendees_in_the_room(app, make):
    w = make.webinar(status="live")
    a = register(w)
    presence.connected(a.reg, connection_id="p")
    lifecycle.pause(w, actor=SYSTEM)
    assert attendance.present_count(w.webinar_id) == 1
    b = register(w)
    presence.connected(b.reg, connection_id="q")  # joining during the break counts too
    assert attendance.present_count(w.webinar_id) == 2


def test_complete_emits_once_per_session(app, make):
    w = make.webinar(status="live")
    a = register(w)
    row = attendance.enter(a.reg, session_id="auto-session-1", connection_id="c")
    db.session.commit()
    attendance.complete(a.reg, session_id="auto-session-1")
    attendance.complete(a.reg, session_id="auto-session-1")
    db.session.commit()
    assert len(events(w.webinar_id, "client_webinar_completed")) == 1
    db.session.refresh(row)
    assert row.completed_at is not None


def test_watched_seconds_is_the_union_of_tabs():
    from datetime import datetime

    t0 = datetime(2030, 1, 1, tzinfo=UTC)

    def r(a, b):
        return Attendance(entered_at=t0 + timedelta(minutes=a), left_at=t0 + timedelta(minutes=b) if b else None)

    spans = [r(0, 10), r(5, 20), r(30, 40), r(35, None)]
    assert attendance.watched_seconds(spans, start=t0, end=t0 + timedelta(minutes=50)) == 40 * 60
    assert attendance.completes_live(present=False, watched=50, live=100)
    assert not attendance.completes_live(present=False, watched=49.9, live=100)
    assert attendance.completes_live(present=True, watched=0, live=100)


def _rewind(w, started) -> None:
    from sqlalchemy import update

    from portal.core.guard import core_write
    from portal.core.models import Webinar

    with core_write():  # test set-up of a past start time (not a status or CTA write)
        db.session.execute(update(Webinar).where(Webinar.webinar_id == w.webinar_id).values(started_at=started))
    db.session.commit()
    db.session.refresh(w)


def _set_interval(lead_id: int, entered, left) -> None:
    for row in rows(lead_id):
        row.entered_at = entered
        if left is not None:
            row.left_at = left
    db.session.commit()


def test_enter_and_leave_frames(app, make):
    from portal.room import sockets as socket

    w = make.webinar(status="live")
    a = register(w)
    ctx = room_socket(a.reg, "frame-conn")
    socket.on_enter(ctx, {"type": "enter"})  # a socket another process accepted before go-live
    socket.on_enter(ctx, {"type": "enter"})
    assert len(events(w.webinar_id, "client_webinar_entered")) == 1
    socket.on_leave(ctx, {"type": "leave"})  # the page is closing: an explicit goodbye
    presence.disconnected(a.reg, connection_id="frame-conn", reason="disconnected")
    assert [e.data for e in events(w.webinar_id, "client_webinar_left")] == [{"leave_reason": "left"}]


def test_missing_registration_is_ignored(app):
    presence.connected(None, connection_id="x")
    presence.disconnected(None, connection_id="x", reason="left")


# --- issue 9: go-live in batches, HTTP presence, leases and the sweeper --------------------------

def test_go_live_pushes_the_status_first_and_enters_in_batches_exactly_once(app, make, pushes):
    app.config["ATTENDANCE_GO_LIVE_BATCH"] = 4
    w = make.webinar(status="scheduled")
    people = [register(w) for _ in range(9)]
    for i, person in enumerate(people):
        presence.connected(person.reg, connection_id=f"w{i}")
    presence.connected(people[0].reg, connection_id="w0-tab2")  # one lead, two waiting tabs
    lifecycle.core_webinar_set_status(w, "start", actor=SYSTEM)
    # The status reached the room in the go-live commit's push, before any entering.
    live = [h for h in pushes.to(room_channel(w.webinar_id)) if 'data-status="live"' in h]
    assert live, "the live status is pushed at once"
    # Pages answer "live" with an "enter" frame while the batches run: never a double.
    for i, person in enumerate(people):
        presence.ensure_entered(person.reg, connection_id=f"w{i}")
    assert presence.settle(app)
    for i, person in enumerate(people):
        presence.ensure_entered(person.reg, connection_id=f"w{i}")
    entered = events(w.webinar_id, "client_webinar_entered")
    assert sorted(e.lead_id for e in entered) == sorted(p.reg.lead_id for p in people), "once per lead"
    status = events(w.webinar_id, "webinar_status_changed")[-1]
    assert all(e.id > status.id for e in entered)
    open_rows = db.session.scalars(select(Attendance).where(Attendance.webinar_id == w.webinar_id)).all()
    assert len(open_rows) == 10 and all(r.left_at is None and r.worker_id for r in open_rows)
    assert attendance.present_count(w.webinar_id) == 9


def test_a_go_live_batch_after_stop_enters_nobody(app, make):
    w = make.webinar(status="scheduled")
    a = register(w)
    presence.connected(a.reg, connection_id="late-batch")
    lifecycle.core_webinar_set_status(w, "start", actor=SYSTEM)
    assert presence.settle(app)
    lifecycle.core_webinar_set_status(w, "stop", actor=SYSTEM)
    presence.disconnected(a.reg, connection_id="late-batch", reason="left")
    # A batch started now (another process's "enter" frame) finds the webinar finished.
    presence.registry().add(w.webinar_id, "again", a.reg.registration_id)
    assert presence.schedule_entering(app, w.webinar_id)
    assert presence.settle(app)
    assert len(events(w.webinar_id, "client_webinar_entered")) == 1
    assert attendance.present_count(w.webinar_id) == 0


def _poll(client, person, etag=None):
    headers = {"HX-Request": "true", **({"If-None-Match": etag} if etag else {})}
    return client.get(f"/room/{person.token}/state?since=0", headers=headers)


def test_a_page_that_only_polls_enters_counts_times_out_and_completes(app, make, client):
    from portal.attendance import leases

    app.config["ATTENDANCE_HTTP_STALE_SECONDS"] = 30
    w = make.webinar(status="scheduled")
    poller, quitter = register(w), register(w)
    assert _poll(client, poller).status_code == 200  # the waiting room: nothing recorded
    presence.flush_polls()
    assert attendance.present_count(w.webinar_id) == 0
    lifecycle.core_webinar_set_status(w, "start", actor=SYSTEM)
    first = _poll(client, poller)
    _poll(client, quitter)
    assert presence.flush_polls() == 2
    assert attendance.present_count(w.webinar_id) == 2
    entered = events(w.webinar_id, "client_webinar_entered")
    assert sorted(e.lead_id for e in entered) == sorted([poller.reg.lead_id, quitter.reg.lead_id])
    # Unchanged room: 304s, noted in memory; the row's seen_at moves at most every few seconds.
    again = _poll(client, poller, first.headers["ETag"])  # the count moved: fresh state
    assert _poll(client, poller, again.headers["ETag"]).status_code == 304
    presence.flush_polls()
    assert len(events(w.webinar_id, "client_webinar_entered")) == 2
    # The quitter stops polling: its row goes stale and the sweeper closes it (timeout).
    row = db.session.scalar(select(Attendance).where(Attendance.lead_id == quitter.reg.lead_id))
    row.seen_at = utcnow() - timedelta(seconds=31)
    db.session.commit()
    assert leases.current().sweep() == 1
    left = events(w.webinar_id, "client_webinar_left")
    assert [(e.lead_id, e.data["leave_reason"]) for e in left] == [(quitter.reg.lead_id, "timeout")]
    assert attendance.present_count(w.webinar_id) == 1
    _poll(client, poller)
    presence.flush_polls()
    lifecycle.core_webinar_set_status(w, "stop", actor=SYSTEM)
    completed = events(w.webinar_id, "client_webinar_completed")
    assert [(e.lead_id, e.data["rule"]) for e in completed] == [(poller.reg.lead_id, "present_at_end")]
    assert len(events(w.webinar_id, "client_webinar_left")) == 2


def _lease(worker_id: str, *, renewed_ago: float, expires_in: float, stopped: bool = False, pid: int = 1):
    from portal.attendance.leases import _hostname
    from portal.attendance.models import AttendanceLease

    now = utcnow()
    db.session.add(AttendanceLease(worker_id=worker_id, hostname=_hostname() if pid != 1 else "elsewhere",
                                   pid=pid, started_at=now - timedelta(hours=1),
                                   renewed_at=now - timedelta(seconds=renewed_ago),
                                   expires_at=now + timedelta(seconds=expires_in),
                                   stopped_at=now if stopped else None))
    db.session.commit()


def _own_rows(lead_id: int, worker_id: str) -> None:
    for row in rows(lead_id):
        if row.left_at is None:
            row.worker_id = worker_id
    db.session.commit()


def test_the_sweeper_closes_rows_of_dead_expired_and_stopped_workers_once_per_lead(app, make):
    from portal.attendance import leases
    from portal.attendance.models import AttendanceLease

    w = make.webinar(status="live")
    expired, stopped, crashed, both, alive = (register(w) for _ in range(5))
    for person, conn in ((expired, "x"), (stopped, "s"), (crashed, "c"), (both, "b1"), (alive, "a")):
        presence.connected(person.reg, connection_id=conn)
    for person in (expired, stopped, crashed, both, alive):
        _set_interval(person.reg.lead_id, utcnow() - timedelta(minutes=10), None)
    _own_rows(expired.reg.lead_id, "remote:1:expired")
    _own_rows(stopped.reg.lead_id, "remote:1:stopped")
    _own_rows(both.reg.lead_id, "remote:1:expired")
    presence.connected(both.reg, connection_id="b2")  # a second tab held by this (live) worker
    _lease("remote:1:expired", renewed_ago=40, expires_in=-10)
    _lease("remote:1:stopped", renewed_ago=5, expires_in=25, stopped=True)
    # A worker of this host whose process is gone (SIGKILL): no need to wait for its lease.
    dead = __import__("subprocess").Popen(["true"])
    dead.wait()
    _lease(f"here:{dead.pid}:crashed", renewed_ago=2, expires_in=28, pid=dead.pid)
    _own_rows(crashed.reg.lead_id, f"here:{dead.pid}:crashed")
    _lease("remote:1:alive", renewed_ago=1, expires_in=29)
    _own_rows(alive.reg.lead_id, "remote:1:alive")

    assert leases.current().sweep() == 4
    assert leases.current().sweep() == 0  # a second sweeper finds nothing left
    left = {e.lead_id: e.data["leave_reason"] for e in events(w.webinar_id, "client_webinar_left")}
    assert left == {expired.reg.lead_id: "timeout", stopped.reg.lead_id: "server_restart",
                    crashed.reg.lead_id: "server_restart"}, "a lead with a live tab elsewhere stays"
    assert len(events(w.webinar_id, "client_webinar_left")) == 3
    assert attendance.present_count(w.webinar_id) == 2
    remaining = set(db.session.scalars(select(AttendanceLease.worker_id)))
    assert remaining == {"remote:1:alive"}, "dead leases are forgotten once their rows are closed"
    closed = rows(expired.reg.lead_id)[0]
    assert closed.left_at <= utcnow() - timedelta(seconds=39), "left when last seen alive"


def test_stop_closes_dead_workers_rows_first_and_completes_nobody_for_them(app, make):
    w = make.webinar(status="live")
    orphan, here = register(w), register(w)
    presence.connected(orphan.reg, connection_id="o")
    presence.connected(here.reg, connection_id="h")
    started = utcnow() - timedelta(minutes=100)
    _rewind(w, started)
    _set_interval(orphan.reg.lead_id, started + timedelta(minutes=80), None)
    _set_interval(here.reg.lead_id, started + timedelta(minutes=80), None)
    _own_rows(orphan.reg.lead_id, "remote:1:gone")
    _lease("remote:1:gone", renewed_ago=600, expires_in=-570)

    lifecycle.core_webinar_set_status(w, "stop", actor=SYSTEM)
    completed = events(w.webinar_id, "client_webinar_completed")
    assert [e.lead_id for e in completed] == [here.reg.lead_id], "no phantom completion for the orphan"
    left = {e.lead_id: e.data["leave_reason"] for e in events(w.webinar_id, "client_webinar_left")}
    assert left == {orphan.reg.lead_id: "timeout", here.reg.lead_id: "webinar_finished"}
    assert len(events(w.webinar_id, "client_webinar_left")) == 2


def test_a_lapsed_lease_enters_this_workers_sockets_again(app, make):
    from portal.attendance import leases
    from portal.attendance.models import AttendanceLease

    w = make.webinar(status="live")
    a = register(w)
    presence.connected(a.reg, connection_id="kept")
    keeper = leases.current()
    assert keeper.renew() is False
    # A database blip longer than the lease: another worker swept our row as timed out.
    lease = db.session.get(AttendanceLease, keeper.worker_id)
    lease.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    _lease("remote:1:sweeper", renewed_ago=0, expires_in=30)
    from portal.attendance.leases import sweep

    assert sweep("remote:1:sweeper", http_stale_seconds=45, commit=True) == 1
    assert attendance.present_count(w.webinar_id) == 0
    assert keeper.renew() is True
    assert presence.settle(app)
    assert attendance.present_count(w.webinar_id) == 1
    kinds = [e.event for e in events(w.webinar_id)
             if e.lead_id == a.reg.lead_id and e.event != "client_webinar_registered"]
    assert kinds == ["client_webinar_entered", "client_webinar_left", "client_webinar_entered"]


def test_a_presence_write_that_hits_a_database_error_is_retried_not_dropped(app, make, monkeypatch):
    # A database blip on the first two INSERTs into attendance (as a restarting server or a lock
    # timeout raise them): the enter is retried after back-off and stored exactly once.
    from sqlalchemy import event as sa_event
    from sqlalchemy.exc import OperationalError

    monkeypatch.setattr(presence, "RETRY_DELAYS", (0.01, 0.01, 0.01))
    w = make.webinar(status="live")
    a = register(w)
    failures = {"left": 2}

    def blip(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("INSERT INTO ATTENDANCE") and failures["left"]:
            failures["left"] -= 1
            raise OperationalError(statement, parameters, Exception("server closed the connection"))

    engine = db.engine
    sa_event.listen(engine, "before_cursor_execute", blip)
    try:
        presence.connected(a.reg, connection_id="tab-1")
    finally:
        sa_event.remove(engine, "before_cursor_execute", blip)
    assert failures["left"] == 0  # both blips happened
    assert [r.left_at for r in rows(a.reg.lead_id)] == [None]
    assert len(events(w.webinar_id, "client_webinar_entered")) == 1
    assert attendance.present_count(w.webinar_id) == 1


def test_a_presence_write_the_database_refuses_for_long_is_owed_and_written_when_it_is_back(app, make, monkeypatch):
    # The database stays away longer than the retries: the socket is not failed, nothing half
    # written stays, and the keeper's next rounds write the enter, then the leave, once it answers.
    from sqlalchemy import event as sa_event
    from sqlalchemy.exc import OperationalError

    monkeypatch.setattr(presence, "RETRY_DELAYS", (0.01, 0.01))
    w = make.webinar(status="live")
    a = register(w)

    def down(conn, cursor, statement, parameters, context, executemany):
        if "ATTENDANCE" in statement.upper() and not statement.lstrip().upper().startswith("SELECT"):
            raise OperationalError(statement, parameters, Exception("could not connect to server"))

    sa_event.listen(db.engine, "before_cursor_execute", down)
    try:
        presence.connected(a.reg, connection_id="tab-1")  # never raises into the socket
        assert rows(a.reg.lead_id) == [] and events(w.webinar_id, "client_webinar_entered") == []
        assert presence.retry_owed(app) == 0  # still down: the write waits for the next round
        assert presence.registry(app).owed_count() == 1
    finally:
        sa_event.remove(db.engine, "before_cursor_execute", down)
    assert presence.retry_owed(app) == 1  # the database is back
    assert [r.left_at for r in rows(a.reg.lead_id)] == [None]
    assert len(events(w.webinar_id, "client_webinar_entered")) == 1
    assert attendance.present_count(w.webinar_id) == 1

    sa_event.listen(db.engine, "before_cursor_execute", down)
    try:
        presence.disconnected(a.reg, connection_id="tab-1", reason="disconnected")
    finally:
        sa_event.remove(db.engine, "before_cursor_execute", down)
    assert attendance.present_count(w.webinar_id) == 1  # the leave is owed, not lost
    assert presence.retry_owed(app) == 1
    assert [r.left_at is not None for r in rows(a.reg.lead_id)] == [True]
    assert attendance.present_count(w.webinar_id) == 0
    assert presence.retry_owed(app) == 0 and presence.registry(app).owed_count() == 0


def test_an_owed_enter_of_a_socket_that_closed_meanwhile_is_not_written(app, make, monkeypatch):
    from sqlalchemy import event as sa_event
    from sqlalchemy.exc import OperationalError

    monkeypatch.setattr(presence, "RETRY_DELAYS", (0.01,))
    w = make.webinar(status="live")
    a = register(w)

    def down(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("INSERT INTO ATTENDANCE"):
            raise OperationalError(statement, parameters, Exception("could not connect to server"))

    sa_event.listen(db.engine, "before_cursor_execute", down)
    try:
        presence.connected(a.reg, connection_id="tab-1")
    finally:
        sa_event.remove(db.engine, "before_cursor_execute", down)
    presence.disconnected(a.reg, connection_id="tab-1", reason="disconnected")  # gone before the database came back
    presence.retry_owed(app)
    assert rows(a.reg.lead_id) == [] and events(w.webinar_id, "client_webinar_entered") == []
