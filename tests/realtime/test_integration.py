"""The socket layer with the room's real presence, snapshot and pushes, driven by Core hooks."""
from __future__ import annotations

import json

import pytest

from portal.attendance.models import Attendance
from portal.core import lifecycle
from tests.realtime.conftest import connect, login_cookie, make_registration, recv_close, recv_until, wait_for


@pytest.fixture
def app_config(app_config: dict) -> dict:
    return {**app_config, "ROOM_ATTENDANCE_PUSH_INTERVAL": 0}  # count pushes at once


def hello(ws, last: int = 0) -> str:
    ws.send(json.dumps({"type": "hello", "last_message_id": last}))
    return recv_until(ws, lambda m: 'id="room-status"' in m or 'id="console-controls"' in m)


def test_a_cta_toggled_through_the_core_hook_reaches_room_and_console_sockets(live_server, live_webinar):
    _, token = make_registration(live_webinar)
    room = connect(live_server, f"/ws/room/{token}")
    console = connect(live_server, f"/ws/console/{live_webinar.webinar_id}",
                      cookie=login_cookie(live_server, live_webinar.test_speaker.email))
    snapshot = hello(room)
    assert 'data-testid="cta"' not in snapshot
    hello(console)

    lifecycle.core_webinar_set_cta_visibility(live_webinar, "visible", actor=live_webinar.test_speaker)
    shown = recv_until(room, lambda m: 'id="room-cta"' in m)
    assert 'data-testid="cta"' in shown
    recv_until(console, lambda m: "cta" in m)

    lifecycle.core_webinar_set_cta_visibility(live_webinar, "hidden", actor=live_webinar.test_speaker)
    assert 'data-testid="cta"' not in recv_until(room, lambda m: 'id="room-cta"' in m)


def test_presence_opens_and_closes_attendance_for_a_real_socket(live_server, live_webinar, app):
    reg, token = make_registration(live_webinar)
    ws = connect(live_server, f"/ws/room/{token}")
    hello(ws)

    def rows():
        from portal.extensions import db

        db.session.rollback()
        return db.session.query(Attendance).filter_by(lead_id=reg.lead_id).all()

    wait_for(lambda: rows() and rows()[0].left_at is None, what="an open attendance row")
    ws.close()
    wait_for(lambda: rows()[0].left_at is not None, what="the row closed")
    assert rows()[0].leave_reason == "left"


def test_a_ban_through_moderation_closes_the_socket(live_server, live_webinar):
    from portal.room import moderation

    reg, token = make_registration(live_webinar)
    ws = connect(live_server, f"/ws/room/{token}")
    hello(ws)
    moderation.ban(live_webinar, reg.lead_id, actor=live_webinar.test_speaker)
    assert recv_close(ws) == (1008, "banned")
