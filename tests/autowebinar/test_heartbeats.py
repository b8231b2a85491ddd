"""Coalescing (N heartbeats -> one transaction), the socket handler, the flusher thread, CTA."""
from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

from portal.autowebinar import heartbeats, runtime
from portal.core import lifecycle
from portal.core.permissions import SYSTEM
from portal.extensions import db
from portal.realtime import Admission
from portal.realtime.runtime import state as realtime_state
from portal.room import cta
from tests.autowebinar.conftest import attendance_rows, outbox, raw_meta
from tests.room.conftest import RecordingContext, room_socket

ROOT = Path(__file__).resolve().parents[2]


def test_many_heartbeats_cost_one_transaction(app, clock, auto_webinar, attendee, commits):
    webinar = auto_webinar()
    viewers = [attendee(webinar) for _ in range(40)]
    for v in viewers:
        assert v.beat(0).status_code == 200  # entering commits, once per viewer
    heartbeats.flush()
    commits.clear()
    for second in (5, 10, 15):
        clock.advance(5)
        for v in viewers:
            assert v.beat(second).status_code == 200
    assert commits == []  # 120 heartbeats, no write yet
    assert len(heartbeats.current().coalescer) == 40
    assert heartbeats.flush() == 40
    assert commits == ["commit"]
    assert {raw_meta(v.reg.lead_id)[f"autowebinar_last_position_sec:{webinar.webinar_id}"] for v in viewers} == {"15"}
    commits.clear()
    assert heartbeats.flush() == 0 and commits == []  # nothing queued: no transaction at all


def test_milestones_and_completions_ride_in_the_same_transaction(app, clock, auto_webinar, attendee, commits):
    webinar = auto_webinar(recording_duration_sec=20)
    viewers = [attendee(webinar) for _ in range(5)]
    for v in viewers:
        v.beat(0)
    heartbeats.flush()
    clock.advance(21)
    commits.clear()
    for v in viewers:
        assert v.beat(20).json["completed"] is True
    heartbeats.flush()
    assert commits == ["commit"]
    assert len(outbox("client_webinar_completed")) == 5
    for v in viewers:  # reached again (other tab, replay): nothing more
        v.beat(20, page_id="page-0009")
    heartbeats.flush()
    assert len(outbox("client_webinar_completed")) == 5


def FakeSocket(attendee, connection_id: str) -> RecordingContext:
    """The room socket of an attendee, as its handlers see it."""
    return room_socket(attendee.reg, connection_id)


def test_socket_heartbeats_enter_on_the_socket_connection(app, clock, auto_webinar, attendee):
    assert realtime_state(app).lookup("heartbeat", "room") is heartbeats.on_socket_heartbeat
    webinar = auto_webinar()
    a = attendee(webinar)
    ws = FakeSocket(a, "conn-123")
    heartbeats.on_socket_heartbeat(ws, {"type": "heartbeat", "position": 0, "webinar_id": webinar.webinar_id})
    assert 'id="aw-sync"' in ws.sent[-1] and "&quot;accepted&quot;:true" in ws.sent[-1]
    rows = attendance_rows(a.reg.lead_id)
    assert [(r.connection_id, r.left_at) for r in rows] == [("conn-123", None)]
    clock.advance(5)
    heartbeats.on_socket_heartbeat(ws, {"type": "heartbeat", "position": 5})
    heartbeats.flush()
    assert raw_meta(a.reg.lead_id)[f"autowebinar_last_position_sec:{webinar.webinar_id}"] == "5"

    # The socket closes: the room's presence closes that row (left), whoever opened it.
    from portal.attendance import presence

    presence.disconnected(a.reg, connection_id="conn-123", reason="left")
    assert attendance_rows(a.reg.lead_id)[0].leave_reason == "left"
    assert [e.event for e in outbox(lead_id=a.reg.lead_id)][-1] == "client_webinar_left"


def test_a_known_viewers_socket_heartbeat_reads_nothing(app, clock, auto_webinar, attendee):
    from sqlalchemy import event

    webinar = auto_webinar()
    a = attendee(webinar)
    ws = FakeSocket(a, "conn-1")
    heartbeats.on_socket_heartbeat(ws, {"type": "heartbeat", "position": 0})
    statements: list[str] = []

    def count(conn, cursor, statement, *args):  # noqa: ANN001
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        for second in range(1, 11):
            clock.advance(1)
            heartbeats.on_socket_heartbeat(ws, {"type": "heartbeat", "position": second})
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert statements == []
    assert all("&quot;accepted&quot;:true" in html for html in ws.sent)


def test_socket_refusals_answer_the_player_and_write_nothing(app, clock, auto_webinar, attendee):
    webinar = auto_webinar()
    a, b = attendee(webinar), attendee(webinar)
    ws_a, ws_b = FakeSocket(a, "a-1"), FakeSocket(b, "b-1")
    heartbeats.on_socket_heartbeat(ws_a, {"type": "heartbeat", "position": 0})
    heartbeats.flush()
    session_a = raw_meta(a.reg.lead_id)[f"autowebinar_session_id:{webinar.webinar_id}"]
    heartbeats.on_socket_heartbeat(ws_b, {"type": "heartbeat", "position": 0, "session_id": session_a})
    assert "other_session" in ws_b.sent[-1] and "&quot;accepted&quot;:false" in ws_b.sent[-1]
    assert raw_meta(b.reg.lead_id) == {}
    heartbeats.on_socket_heartbeat(ws_a, {"type": "heartbeat", "position": 60})
    assert "ahead_of_live" in ws_a.sent[-1]
    lifecycle.core_webinar_set_status(webinar, "stop", actor=SYSTEM)
    heartbeats.on_socket_heartbeat(ws_a, {"type": "heartbeat", "position": 1})
    assert "&quot;status&quot;:&quot;finished&quot;" in ws_a.sent[-1]
    console = RecordingContext(Admission("console:1", "console", ids={"user_id": 1, "webinar_id": 1}), "c")
    heartbeats.on_socket_heartbeat(console, {"type": "heartbeat", "position": 1})
    assert "not_attendee" in console.sent[-1]


def test_cta_shows_at_its_time_and_the_first_click_counts(app, clock, auto_webinar, attendee):
    webinar = auto_webinar(cta_at_sec=30)
    a = attendee(webinar)
    a.beat(0)
    clock.advance(20)
    assert a.beat(20).json["cta"] is False  # Core says hidden
    lifecycle.core_webinar_set_cta_visibility(webinar, "visible", actor=SYSTEM)
    assert a.beat(20).json["cta"] is False  # visible, but the viewer is at 20 s of 30
    assert runtime.cta_visible(a.reg, webinar, now=clock.now) is False
    clock.advance(8)
    # Between heartbeats the server extrapolates a playing viewer (28 s here, still short).
    assert runtime.cta_visible(a.reg, webinar, now=clock.now) is False
    clock.advance(3)
    assert runtime.cta_visible(a.reg, webinar, now=clock.now) is True
    assert a.beat(31).json["cta"] is True
    # The room's click service: the event is emitted there, once; we stamp the time once.
    cta.click(a.reg)
    cta.click(a.reg)
    assert len(outbox("client_webinar_cta_clicked", lead_id=a.reg.lead_id)) == 1
    assert f"autowebinar_cta_clicked_at:{webinar.webinar_id}" in raw_meta(a.reg.lead_id)
    lifecycle.core_webinar_set_cta_visibility(webinar, "hidden", actor=SYSTEM)
    assert a.beat(32).json["cta"] is False


def test_the_flusher_thread_writes_within_a_second_and_flushes_on_stop(app, clock, auto_webinar, attendee):
    app.config["AUTOWEBINAR_FLUSH_INTERVAL"] = 0.2
    webinar = auto_webinar()
    a = attendee(webinar)
    a.beat(0)
    assert heartbeats.current().flusher.running
    clock.advance(3)
    a.beat(3)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if raw_meta(a.reg.lead_id).get(f"autowebinar_last_position_sec:{webinar.webinar_id}") == "3":
            break
        time.sleep(0.05)
    assert raw_meta(a.reg.lead_id)[f"autowebinar_last_position_sec:{webinar.webinar_id}"] == "3"
    heartbeats.current().flusher.interval = 60  # the next tick is far away: only stop() can write now
    time.sleep(0.3)
    clock.advance(4)
    a.beat(7)
    heartbeats.current().flusher.stop()
    assert not heartbeats.current().flusher.running
    assert raw_meta(a.reg.lead_id)[f"autowebinar_last_position_sec:{webinar.webinar_id}"] == "7"


def test_a_failed_flush_keeps_the_batch_for_the_next_second(app, clock, auto_webinar, attendee, monkeypatch):
    webinar = auto_webinar()
    a = attendee(webinar)
    a.beat(0)
    heartbeats.flush()
    clock.advance(5)
    a.beat(5)

    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    with monkeypatch.context() as patch:
        patch.setattr(heartbeats.store, "put_many", broken)
        try:
            heartbeats.flush()
        except RuntimeError:
            pass
    clock.advance(1)
    a.beat(6)  # newer than the failed batch: it wins
    assert heartbeats.flush() == 1
    assert raw_meta(a.reg.lead_id)[f"autowebinar_last_position_sec:{webinar.webinar_id}"] == "6"


GEVENT_SCRIPT = textwrap.dedent("""
    from gevent import monkey
    monkey.patch_all()
    import sys, time
    from portal import create_app
    from portal.extensions import db
    from portal.core.models import User
    from portal.autowebinar import heartbeats, store
    from portal.db_types import utcnow
    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite:///" + sys.argv[1], "TESTING": True,
                      "AUTOWEBINAR_FLUSH_INTERVAL": 0.2, "SECRET_KEY": "x"})
    with app.app_context():
        db.create_all()
        lead = User(email="g@example.com", display_name="G"); db.session.add(lead); db.session.commit()
        from tests import factories
        w = factories.webinar(type="auto", status="live")
        heartbeats.current().coalescer.put(heartbeats.Pending(lead.user_id, w.webinar_id, 0, "s", 42, utcnow()))
        heartbeats.current().flusher.ensure_started(app)
        import gevent
        assert monkey.is_module_patched("threading")  # the flusher "thread" is a greenlet
        gevent.sleep(1.0)  # a cooperative wait: only a yielding flusher gets to run
        print(store.raw(lead.user_id, w.webinar_id)["last_position_sec"])
        heartbeats.current().flusher.stop()
""")


def test_the_flusher_runs_under_gevent(tmp_path):
    """gunicorn -k gevent monkey-patches threads into greenlets: the flusher must still tick."""
    done = subprocess.run([sys.executable, "-c", GEVENT_SCRIPT, str(tmp_path / "g.sqlite3")], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "42"


def test_a_flush_of_many_viewers_is_one_transaction_and_writes_every_milestone(
        app, clock, auto_webinar, attendee, commits, monkeypatch):
    """Milestones of a whole room go out as multi-row upserts (chunked), in the flush's one
    transaction; every viewer's row is written and none is lowered."""
    from sqlalchemy import event

    from portal.autowebinar import store

    monkeypatch.setattr(store, "_RAISE_ROWS", 7)  # several chunks with a few viewers
    monkeypatch.setattr(store, "_MANY_ROWS", 7)  # (positions: multi-row on PostgreSQL)
    webinar = auto_webinar(recording_duration_sec=100)
    viewers = [attendee(webinar) for _ in range(30)]
    for v in viewers:
        v.beat(0)
    heartbeats.flush()
    ahead = viewers[0].reg.lead_id  # another process already stored 75 for this one
    store.put(ahead, webinar.webinar_id, {"progress_percent": 75})
    db.session.commit()
    clock.advance(26)
    for v in viewers:
        v.beat(26)  # every viewer crosses 25 % in the same second
    statements: list[str] = []

    def on_execute(conn, cursor, statement, *args) -> None:  # noqa: ANN001, ANN002
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", on_execute)
    commits.clear()
    try:
        assert heartbeats.flush() == 30
    finally:
        event.remove(db.engine, "before_cursor_execute", on_execute)
    assert commits == ["commit"]
    upserts = [s for s in statements if "CAST(user_meta.meta_value AS INTEGER)" in s]
    assert len(upserts) == 5  # ceil(30 / 7) statements, not one per viewer
    key = f"autowebinar_progress_percent:{webinar.webinar_id}"
    stored = {v.reg.lead_id: raw_meta(v.reg.lead_id)[key] for v in viewers}
    assert stored.pop(ahead) == "75"
    assert set(stored.values()) == {"25"}
    assert {raw_meta(v.reg.lead_id)[f"autowebinar_last_position_sec:{webinar.webinar_id}"] for v in viewers} == {"26"}


def test_put_many_keeps_the_last_value_of_a_key_listed_twice(app, auto_webinar, attendee):
    from portal.autowebinar import store

    webinar = auto_webinar()
    lead = attendee(webinar).reg.lead_id
    store.put_many([(lead, webinar.webinar_id, "last_position_sec", 1),
                    (lead, webinar.webinar_id, "last_position_sec", 2)])
    db.session.commit()
    assert raw_meta(lead)[f"autowebinar_last_position_sec:{webinar.webinar_id}"] == "2"
