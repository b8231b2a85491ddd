"""A scripted visit through the HTTP interface (enter, watch, leave, re-enter, complete), then
the RAW user_meta rows and the outbox, key by key and value by value."""
from __future__ import annotations

import re
from datetime import timedelta

from portal.autowebinar import heartbeats, runtime, store
from portal.core import lifecycle
from portal.core.permissions import SYSTEM
from portal.db_types import utcnow
from portal.extensions import db
from tests.autowebinar.conftest import attendance_rows, outbox, raw_meta

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def iso(moment) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_scripted_visit_writes_exactly_the_seed_keys(app, clock, auto_webinar, attendee):
    webinar = auto_webinar()
    lifecycle.core_webinar_set_cta_visibility(webinar, "visible", actor=SYSTEM)
    wid = webinar.webinar_id
    a = attendee(webinar)
    lead = a.reg.lead_id
    t0 = clock.now

    # Enter: the first heartbeat of the page creates the session (watch now: it starts now).
    first = a.beat(0)
    assert first.status_code == 200, first.get_data(as_text=True)
    body = first.json
    # started_at is to the second
    assert body["accepted"] is True and 0 <= body["live_point"] < 1 and body["cta"] is False
    session_id = body["session_id"]
    assert UUID.match(session_id)
    assert raw_meta(lead) == {
        f"autowebinar_session_id:{wid}": session_id,
        f"autowebinar_started_at:{wid}": iso(t0),
        f"autowebinar_last_seen_at:{wid}": iso(t0),
    }
    heartbeats.flush()
    assert raw_meta(lead)[f"autowebinar_progress_percent:{wid}"] == "0"
    assert raw_meta(lead)[f"autowebinar_last_position_sec:{wid}"] == "0"

    # Watching: positions follow the live point; 25 % at 22.5 s of 90.
    for seconds in (5, 10, 15, 20, 25):
        clock.advance(5)
        assert a.beat(seconds, session_id=session_id).status_code == 200
    heartbeats.flush()
    meta = raw_meta(lead)
    assert meta[f"autowebinar_last_position_sec:{wid}"] == "25"
    assert meta[f"autowebinar_progress_percent:{wid}"] == "25"
    assert meta[f"autowebinar_last_seen_at:{wid}"] == iso(clock.now)
    clock.advance(6)
    assert a.beat(31.2, session_id=session_id).json["cta"] is True  # CTA at 30 s, Core says visible

    # Leave: the pagehide beacon writes position and last seen at once (no flush needed).
    clock.advance(9)
    left_at = clock.now
    assert a.beacon(40.4, session_id=session_id).status_code == 204
    meta = raw_meta(lead)
    assert meta[f"autowebinar_last_position_sec:{wid}"] == "40"
    assert meta[f"autowebinar_last_seen_at:{wid}"] == iso(left_at)
    assert [r.left_at is not None for r in attendance_rows(lead)] == [True]

    # Re-enter 100 s later on a new page: the same session, the same start, progress kept.
    clock.advance(100)
    again = a.beat(40, page_id="page-0002", session_id=session_id)
    assert again.status_code == 200
    assert again.json["session_id"] == session_id and again.json["live_point"] == 90
    assert again.json["progress"] == 25
    meta = raw_meta(lead)
    assert meta[f"autowebinar_started_at:{wid}"] == iso(t0)
    assert meta[f"autowebinar_progress_percent:{wid}"] == "25"

    # Jump towards the end: 50, 75, then 100 completes (once, however often it is reached).
    for seconds in (60, 70, 89.6, 90):
        clock.advance(1)
        assert a.beat(seconds, page_id="page-0002", session_id=session_id).status_code == 200
    heartbeats.flush()
    meta = raw_meta(lead)
    assert meta[f"autowebinar_progress_percent:{wid}"] == "100"
    assert meta[f"autowebinar_completed:{wid}"] == "1"

    # Start over: position goes back, progress and completion do not.
    clock.advance(1)
    assert a.beat(0, page_id="page-0002", session_id=session_id).json["progress"] == 100
    heartbeats.flush()

    # The CTA click (the room's route calls this): first click only.
    clock.advance(1)
    clicked_at = clock.now
    assert runtime.record_cta_click(a.reg, now=clicked_at) is True
    db.session.commit()
    assert runtime.record_cta_click(a.reg, now=clicked_at + timedelta(seconds=5)) is False
    db.session.commit()

    clock.advance(1)
    assert a.beacon(3, page_id="page-0002", session_id=session_id).status_code == 204

    assert raw_meta(lead) == {
        f"autowebinar_session_id:{wid}": session_id,
        f"autowebinar_started_at:{wid}": iso(t0),
        f"autowebinar_last_position_sec:{wid}": "3",
        f"autowebinar_progress_percent:{wid}": "100",
        f"autowebinar_completed:{wid}": "1",
        f"autowebinar_cta_clicked_at:{wid}": iso(clicked_at),
        f"autowebinar_last_seen_at:{wid}": iso(clock.now),
    }
    assert store.load(lead, wid) == store.AutoState(
        session_id=session_id, started_at=t0.replace(microsecond=0), last_position_sec=3, progress_percent=100,
        completed=True, cta_clicked_at=clicked_at.replace(microsecond=0), last_seen_at=clock.now.replace(microsecond=0))

    # Events: entered and left per visit, completed exactly once, all with the session id.
    names = [(e.event, e.session_id) for e in outbox(lead_id=lead) if e.event != "client_webinar_registered"]
    assert names == [
        ("client_webinar_entered", session_id),
        ("client_webinar_left", session_id),
        ("client_webinar_entered", session_id),
        ("client_webinar_completed", session_id),
        ("client_webinar_left", session_id),
    ]
    rows = attendance_rows(lead)
    assert len(rows) == 2 and all(r.session_id == session_id and r.leave_reason == "left" for r in rows)
    assert rows[1].completed_at is not None


def test_two_webinars_keep_separate_state(app, clock, auto_webinar, attendee):
    first, second = auto_webinar(), auto_webinar()
    a = attendee(first, email="both@example.com")
    b = attendee(second, email="both@example.com")
    assert a.reg.lead_id == b.reg.lead_id
    a.beat(0)
    clock.advance(10)
    b.beat(0)
    clock.advance(5)
    a.beat(15)
    b.beat(5)
    heartbeats.flush()
    meta = raw_meta(a.reg.lead_id)
    assert meta[f"autowebinar_last_position_sec:{first.webinar_id}"] == "15"
    assert meta[f"autowebinar_last_position_sec:{second.webinar_id}"] == "5"
    assert meta[f"autowebinar_session_id:{first.webinar_id}"] != meta[f"autowebinar_session_id:{second.webinar_id}"]
    assert all(k.startswith("autowebinar_") for k in meta)


def test_a_scheduled_start_is_the_session_start_and_late_joiners_land_mid_stream(app, clock, auto_webinar, attendee):
    webinar = auto_webinar()
    start = clock.now.replace(microsecond=0) + timedelta(seconds=30)
    a = attendee(webinar, start=start)
    early = a.beat(0)
    assert early.status_code == 409 and early.json["error"]["details"]["reason"] == "not_started"
    assert raw_meta(a.reg.lead_id) == {}
    clock.advance(75)  # 45.25 s after the start
    late = a.beat(44)
    assert late.status_code == 200 and abs(late.json["live_point"] - 45.25) < 1e-6
    assert raw_meta(a.reg.lead_id)[f"autowebinar_started_at:{webinar.webinar_id}"] == iso(start)


def test_stop_closes_the_evergreen_and_keeps_what_came_before(app, clock, auto_webinar, attendee):
    webinar = auto_webinar()
    a = attendee(webinar)
    clock.now = utcnow() - timedelta(seconds=30)  # so that both beats happen before the real stop
    a.beat(0)
    clock.advance(10)
    a.beat(10)  # queued, not yet flushed
    lifecycle.core_webinar_set_status(webinar, "stop", actor=SYSTEM)
    # Attendance closed in the stop transaction, left with reason webinar_finished.
    left = outbox("client_webinar_left", lead_id=a.reg.lead_id)
    assert [e.data["leave_reason"] for e in left] == ["webinar_finished"]
    heartbeats.flush()  # the position heard before the stop is kept
    assert raw_meta(a.reg.lead_id)[f"autowebinar_last_position_sec:{webinar.webinar_id}"] == "10"
