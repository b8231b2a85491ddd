"""The same visit over a real room socket (live server + websocket-client): heartbeat frames
enter, watch and complete; closing the socket leaves; user_meta and the outbox agree."""
from __future__ import annotations

import html
import json
import time

import websocket

from portal.autowebinar import heartbeats
from tests.autowebinar.conftest import attendance_rows, outbox, raw_meta


def open_socket(live_server, token: str) -> websocket.WebSocket:
    url = live_server.url.replace("http://", "ws://") + f"/ws/room/{token}"
    return websocket.create_connection(url, origin=live_server.url, timeout=5)


def next_sync(ws: websocket.WebSocket) -> dict:
    """Read frames until the player's #aw-sync answer arrives (pushes may come first)."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        frame = ws.recv()
        if 'id="aw-sync"' in frame:
            raw = frame.split('data-sync="', 1)[1].split('"', 1)[0]
            return json.loads(html.unescape(raw))
    raise AssertionError("no heartbeat answer")


def wait_for(check, *, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def test_a_visit_over_the_room_socket(live_server, clock, auto_webinar, attendee):
    webinar = auto_webinar(recording_duration_sec=30)
    a = attendee(webinar)
    wid, lead = webinar.webinar_id, a.reg.lead_id

    ws = open_socket(live_server, a.token)
    ws.send(json.dumps({"type": "heartbeat", "position": 0, "webinar_id": wid}))
    first = next_sync(ws)
    assert first["accepted"] is True
    session_id = first["session_id"]
    for second in (10, 20, 30):
        clock.advance(10)
        ws.send(json.dumps({"type": "heartbeat", "position": second, "session_id": session_id, "webinar_id": wid}))
        assert next_sync(ws)["accepted"] is True
    clock.advance(1)
    ws.send(json.dumps({"type": "heartbeat", "position": 99, "session_id": session_id}))
    refused = next_sync(ws)
    assert refused["accepted"] is False and refused["code"] == "past_end"
    heartbeats.flush()
    meta = raw_meta(lead)
    assert meta[f"autowebinar_progress_percent:{wid}"] == "100"
    assert meta[f"autowebinar_completed:{wid}"] == "1"
    assert meta[f"autowebinar_last_position_sec:{wid}"] == "30"

    ws.close()  # the realtime layer tells the room's presence, which closes the row
    wait_for(lambda: all(r.left_at is not None for r in attendance_rows(lead)))
    names = [e.event for e in outbox(lead_id=lead) if e.event != "client_webinar_registered"]
    assert names == ["client_webinar_entered", "client_webinar_completed", "client_webinar_left"]
    assert {e.session_id for e in outbox(lead_id=lead) if e.session_id} == {session_id}

    # Re-enter on a new socket: same session, progress and completion kept.
    ws = open_socket(live_server, a.token)
    clock.advance(5)
    ws.send(json.dumps({"type": "heartbeat", "position": 12, "session_id": session_id}))
    again = next_sync(ws)
    assert again["accepted"] and again["session_id"] == session_id and again["progress"] == 100 and again["completed"]
    ws.close()
    heartbeats.flush()
    assert raw_meta(lead)[f"autowebinar_last_position_sec:{wid}"] == "12"
    assert len(outbox("client_webinar_completed", lead_id=lead)) == 1
