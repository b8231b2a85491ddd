"""Socket endpoints over real sockets: admission before the handshake, frames up, fragments down."""
from __future__ import annotations

import json
import re
import time

import pytest
import websocket

from portal import realtime
from portal.errors import RateLimited
from portal.realtime.runtime import current_hub
from portal.realtime.runtime import state as realtime_state
from portal.room.channels import room_channel
from tests.realtime.conftest import (
    SNAPSHOT_ID,
    connect,
    flash_text,
    login_cookie,
    make_registration,
    recv_close,
    recv_until,
    wait_for,
)


def refusal(server, path: str, **kwargs) -> tuple[int, str]:
    """(status, body) of a refused handshake; the body without its per-visitor CSRF token."""
    with pytest.raises(websocket.WebSocketBadStatusException) as info:
        connect(server, path, **kwargs)
    body = (info.value.resp_body or b"").decode()
    return info.value.status_code, re.sub(r'(csrf_token" value="|X-CSRFToken": ")[^"]+', r"\1", body)


# -- admission -----------------------------------------------------------------------------
def test_room_socket_connects_and_tells_presence(live_server, live_webinar, room_calls):
    reg, token = make_registration(live_webinar)
    ws = connect(live_server, f"/ws/room/{token}")
    wait_for(lambda: room_calls.connected, what="presence.connected")
    assert room_calls.connected[0][0] == reg.registration_id
    connection_id = room_calls.connected[0][1]
    ws.close()
    wait_for(lambda: room_calls.disconnected, what="presence.disconnected")
    assert room_calls.disconnected == [(reg.registration_id, connection_id, "left")]


@pytest.mark.parametrize("origin", ["http://evil.example", "null", "http://127.0.0.1.evil.example", None])
def test_foreign_or_missing_origin_is_refused_before_the_handshake(live_server, live_webinar, room_calls, origin):
    _, token = make_registration(live_webinar)
    status, _body = refusal(live_server, f"/ws/room/{token}", origin=origin)
    assert status == 403
    assert room_calls.connected == []


def test_unknown_revoked_and_banned_tokens_get_the_same_404(live_server, live_webinar, room_calls):
    _, revoked = make_registration(live_webinar, revoked=True)
    _, banned = make_registration(live_webinar, banned=True)
    answers = {refusal(live_server, f"/ws/room/{token}") for token in ("x" * 32, revoked, banned)}
    assert len(answers) == 1 and next(iter(answers))[0] == 404
    assert room_calls.connected == []


def test_console_socket_needs_a_staff_member_of_that_webinar(live_server, live_webinar, make, room_calls):
    path = f"/ws/console/{live_webinar.webinar_id}"
    assert refusal(live_server, path)[0] == 403  # anonymous
    stranger = make.user(role="speaker")
    assert refusal(live_server, path, cookie=login_cookie(live_server, stranger.email))[0] == 403
    assert refusal(live_server, "/ws/console/999999", cookie=login_cookie(live_server, stranger.email))[0] == 404
    ws = connect(live_server, path, cookie=login_cookie(live_server, live_webinar.test_speaker.email))
    ws.send(json.dumps({"type": "hello", "last_message_id": 0}))
    recv_until(ws, lambda m: SNAPSHOT_ID in m)
    assert room_calls.snapshots[-1] == ("User", live_webinar.webinar_id, 0, "console")
    assert room_calls.connected == []  # staff are not attendees
    ws.close()


def test_no_compression_is_negotiated_even_when_offered(live_server, live_webinar, room_calls):
    _, token = make_registration(live_webinar)
    ws = websocket.create_connection(
        live_server.url.replace("http", "ws") + f"/ws/room/{token}", origin=live_server.url,
        header=["Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits"])
    assert "sec-websocket-extensions" not in {k.lower() for k in ws.getheaders()}
    ws.close()


# -- fragments down ------------------------------------------------------------------------
def test_hello_is_answered_with_the_snapshot_since_the_last_message(live_server, live_webinar, room_calls):
    _, token = make_registration(live_webinar)
    ws = connect(live_server, f"/ws/room/{token}")
    ws.send(json.dumps({"type": "hello", "last_message_id": 41, "HEADERS": {"HX-Request": "true"}}))
    message = recv_until(ws, lambda m: SNAPSHOT_ID in m)
    assert 'data-since="41"' in message and 'data-audience="room"' in message
    assert room_calls.snapshots == [("Registration", live_webinar.webinar_id, 41, "room")]
    ws.close()


def test_publish_reaches_every_socket_of_the_room_encoded_once(live_server, live_webinar, make, room_calls):
    tokens = [make_registration(live_webinar)[1] for _ in range(6)]
    sockets = [connect(live_server, f"/ws/room/{t}") for t in tokens]
    other_webinar = make.webinar(status="live")
    _, other_token = make_registration(other_webinar)
    outsider = connect(live_server, f"/ws/room/{other_token}")
    hub = current_hub()
    wait_for(lambda: hub.local_count(room_channel(live_webinar.webinar_id)) == 6, what="6 sockets")
    before = hub.stats.encodings
    realtime.publish(room_channel(live_webinar.webinar_id), '<div id="cta" hx-swap-oob="true">Buy</div>')
    for ws in sockets:
        assert recv_until(ws, lambda m: 'id="cta"' in m) == '<div id="cta" hx-swap-oob="true">Buy</div>'
    assert hub.stats.encodings == before + 1
    outsider.settimeout(0.3)
    with pytest.raises(websocket.WebSocketTimeoutException):
        outsider.recv()
    for ws in sockets + [outsider]:
        ws.close()


def test_disconnect_closes_the_leads_sockets_with_the_reason(live_server, live_webinar, room_calls):
    banned_reg, banned_token = make_registration(live_webinar)
    _, other_token = make_registration(live_webinar)
    tabs = [connect(live_server, f"/ws/room/{banned_token}") for _ in range(2)]
    other = connect(live_server, f"/ws/room/{other_token}")
    wait_for(lambda: len(room_calls.connected) == 3, what="3 sockets")
    realtime.disconnect(room_channel(live_webinar.webinar_id), member=banned_reg.lead_id, reason="banned")
    for ws in tabs:
        assert recv_close(ws) == (1008, "banned")
    wait_for(lambda: len(room_calls.disconnected) == 2, what="2 disconnects")
    assert {r[2] for r in room_calls.disconnected} == {"banned"}
    realtime.publish(room_channel(live_webinar.webinar_id), '<p id="still">here</p>')
    assert "still" in recv_until(other, lambda m: "still" in m)
    other.close()


# -- frames up -----------------------------------------------------------------------------
@pytest.mark.parametrize("frame, message", [
    ("not json at all", "This message could not be read."),
    ("[1, 2, 3]", "This message could not be read."),
    (json.dumps({"type": "nope"}), "This kind of message is not supported."),
    (json.dumps({"no_type": 1}), "This kind of message is not supported."),
    (json.dumps({"type": "hello", "pad": "x" * 9000}), "This message is too long."),
    (json.dumps({"type": "hello", "pad": "ж" * 3000}), "This message is too long."),  # 6 KB chars, 9 KB bytes
])
def test_refused_frames_get_an_error_fragment_and_the_socket_stays(live_server, live_webinar, room_calls, frame,
                                                                     message):
    _, token = make_registration(live_webinar)
    ws = connect(live_server, f"/ws/room/{token}")
    ws.send(frame)
    answer = recv_until(ws, lambda m: 'id="flash"' in m)
    assert flash_text(answer) == message and 'hx-swap-oob="true"' in answer
    ws.send(json.dumps({"type": "hello", "last_message_id": 0}))
    recv_until(ws, lambda m: SNAPSHOT_ID in m)
    ws.close()


def test_binary_frames_are_refused(live_server, live_webinar, room_calls):
    _, token = make_registration(live_webinar)
    ws = connect(live_server, f"/ws/room/{token}")
    ws.send_binary(b"\x00\x01")
    assert flash_text(recv_until(ws, lambda m: 'id="flash"' in m)) == "Only text messages are accepted."
    ws.close()


def test_repeated_garbage_closes_the_socket_for_abuse(live_server, live_webinar, room_calls):
    _, token = make_registration(live_webinar)
    ws = connect(live_server, f"/ws/room/{token}")
    for _ in range(11):
        ws.send("garbage")
    assert recv_close(ws) == (1008, "too many invalid messages")


def test_a_flood_of_frames_closes_the_socket(app, live_server, live_webinar, room_calls):
    seen = []
    realtime.register_handler(app, "test-ping", lambda ctx, payload: seen.append(payload))
    _, token = make_registration(live_webinar)
    ws = connect(live_server, f"/ws/room/{token}")
    for i in range(70):
        ws.send(json.dumps({"type": "test-ping", "i": i}))
    assert recv_close(ws) == (1008, "too many messages")
    assert len(seen) == 60


def test_a_frame_above_the_hard_limit_closes_the_socket(live_server, live_webinar, room_calls):
    _, token = make_registration(live_webinar)
    ws = connect(live_server, f"/ws/room/{token}")
    ws.send("x" * 70_000)
    assert recv_close(ws)[0] == 1009


def test_handlers_get_the_context_and_answer_their_socket_only(app, live_server, live_webinar, room_calls):
    contexts = []

    def echo(ctx, payload):
        contexts.append((ctx.id("webinar_id"), ctx.id("registration_id"), ctx.id("user_id"), ctx.connection_id))
        ctx.send(f'<div id="echo" hx-swap-oob="true">{payload["text"]}</div>')

    realtime.register_handler(app, "test-echo", echo)
    reg, token = make_registration(live_webinar)
    _, other_token = make_registration(live_webinar)
    ws, other = connect(live_server, f"/ws/room/{token}"), connect(live_server, f"/ws/room/{other_token}")
    ws.send(json.dumps({"type": "test-echo", "text": "hi", "HEADERS": {"HX-Request": "true"}}))
    assert "hi" in recv_until(ws, lambda m: 'id="echo"' in m)
    assert contexts[0][:3] == (live_webinar.webinar_id, reg.registration_id, None)
    assert contexts[0][3] == next(c for r, c in room_calls.connected if r == reg.registration_id)
    other.settimeout(0.3)
    with pytest.raises(websocket.WebSocketTimeoutException):
        other.recv()
    ws.close()
    other.close()


def test_a_handler_refusal_comes_back_as_an_error_fragment(app, live_server, live_webinar, room_calls):
    def limited(ctx, payload):
        raise RateLimited("Slow down: too many messages.", retry_after=5)

    realtime.register_handler(app, "test-limited", limited)
    _, token = make_registration(live_webinar)
    ws = connect(live_server, f"/ws/room/{token}")
    ws.send(json.dumps({"type": "test-limited"}))
    assert flash_text(recv_until(ws, lambda m: 'id="flash"' in m)) == "Slow down: too many messages."
    ws.close()


def test_register_refuses_a_second_handler_for_a_type(app):
    def one(ctx, payload): ...
    def two(ctx, payload): ...

    realtime.register_handler(app, "test-dup", one)
    realtime.register_handler(app, "test-dup", one)  # re-registering the same function is harmless
    with pytest.raises(ValueError):
        realtime.register_handler(app, "test-dup", two)


def test_handlers_belong_to_their_app(app):
    from portal import create_app

    realtime.register_handler(app, "test-mine", lambda ctx, payload: None)
    other = create_app(dict(app.config))
    assert realtime_state(other).lookup("test-mine") is None
    assert realtime_state(other).lookup("hello", "room") is not None
    assert realtime_state(other).lookup("heartbeat", "console") is None  # attendees only


# -- pings ---------------------------------------------------------------------------------
class TestPings:
    @pytest.fixture
    def app_config(self, app_config: dict) -> dict:
        return {**app_config, "REALTIME_PING_SECONDS": 0.3}

    def test_the_server_pings_and_a_silent_client_is_closed_as_timed_out(self, live_server, live_webinar, room_calls):
        reg, token = make_registration(live_webinar)
        ws = connect(live_server, f"/ws/room/{token}")
        wait_for(lambda: room_calls.connected, what="presence.connected")
        # A client that does not read does not answer pings either.
        wait_for(lambda: room_calls.disconnected, timeout=10, what="the timeout")
        assert room_calls.disconnected[0][2] == "timeout"
        ws.settimeout(5)
        frames_seen = []
        while True:
            frame = ws.recv_frame()  # raw frames: websocket-client must not answer the pings now
            frames_seen.append(frame.opcode)
            if frame.opcode == websocket.ABNF.OPCODE_CLOSE:
                break
        assert websocket.ABNF.OPCODE_PING in frames_seen
        assert frame.data[2:] == b"ping timeout"

    def test_a_client_that_answers_pings_stays(self, live_server, live_webinar, room_calls):
        _, token = make_registration(live_webinar)
        ws = connect(live_server, f"/ws/room/{token}")
        ws.settimeout(0.2)
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline:  # websocket-client answers pings while it reads
            try:
                ws.recv()
            except websocket.WebSocketTimeoutException:
                pass
        ws.send(json.dumps({"type": "hello", "last_message_id": 0}))
        recv_until(ws, lambda m: SNAPSHOT_ID in m)
        assert room_calls.disconnected == []


def test_the_server_answers_a_client_ping(live_server, live_webinar, room_calls):
    _, token = make_registration(live_webinar)
    ws = connect(live_server, f"/ws/room/{token}")
    ws.ping("are you there")
    ws.settimeout(5)
    opcode, frame = ws.recv_data_frame(control_frame=True)
    assert (opcode, frame.data) == (websocket.ABNF.OPCODE_PONG, b"are you there")
