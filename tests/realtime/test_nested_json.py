"""A frame of JSON nested deeper than the decoder goes is refused like unreadable JSON: an error
fragment with a clear message, and the socket stays open (not a RecursionError killing it)."""
from __future__ import annotations

import json

import pytest

from portal.realtime import inbound
from tests.realtime.conftest import SNAPSHOT_ID, connect, flash_text, make_registration, recv_until

DEEP_LIST = "[" * 4000 + "]" * 4000  # 8,000 bytes: inside the 8 KB frame limit
DEEP_OBJECT = '{"type": "hello", "x": ' + '{"a":' * 1300 + "1" + "}" * 1301


@pytest.mark.parametrize("frame", [DEEP_LIST, DEEP_OBJECT])
def test_parse_refuses_deep_nesting_as_not_json(frame):
    assert len(frame.encode()) <= inbound.MAX_FRAME_BYTES
    with pytest.raises(inbound.FrameRefused) as refused:
        inbound.parse(frame, known=lambda t: True)
    assert refused.value.code == "not_json"


def test_a_deeply_nested_frame_gets_an_error_fragment_and_the_socket_stays(live_server, live_webinar, room_calls):
    _, token = make_registration(live_webinar)
    ws = connect(live_server, f"/ws/room/{token}")
    ws.send(DEEP_LIST)
    answer = recv_until(ws, lambda m: 'id="flash"' in m)
    assert flash_text(answer) == "This message could not be read."
    ws.send(json.dumps({"type": "hello", "last_message_id": 0}))
    recv_until(ws, lambda m: SNAPSHOT_ID in m)
    ws.close()
