"""RFC 6455 server frames: the three length encodings and close frames."""
from __future__ import annotations

import pytest
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, CloseConnection, Request, TextMessage

from portal.realtime import frames


def _client_reading(data: bytes) -> list:
    """Feed server bytes to a real client-side protocol implementation (wsproto)."""
    client = WSConnection(ConnectionType.CLIENT)
    server = WSConnection(ConnectionType.SERVER)
    server.receive_data(client.send(Request(host="example.com", target="/")))
    next(server.events())
    client.receive_data(server.send(AcceptConnection()))
    list(client.events())
    client.receive_data(data)
    return list(client.events())


@pytest.mark.parametrize("size", [0, 1, 125, 126, 65535, 65536, 200_000])
def test_text_frames_of_every_length_class_are_read_by_a_real_client(size):
    text = "é" * (size // 2) + "x" * (size % 2)
    payload = text.encode("utf-8")
    events = _client_reading(frames.text_frame(payload))
    received = "".join(e.data for e in events if isinstance(e, TextMessage))
    assert received == text
    assert all(e.message_finished for e in events if isinstance(e, TextMessage))


def test_close_frame_carries_code_and_reason():
    events = _client_reading(frames.close_frame(frames.POLICY_VIOLATION, "banned"))
    close = next(e for e in events if isinstance(e, CloseConnection))
    assert (close.code, close.reason) == (1008, "banned")


def test_close_reason_is_cut_to_fit_a_control_frame_without_splitting_a_character():
    frame = frames.close_frame(1008, "ж" * 100)
    assert len(frame) <= 2 + 125
    events = _client_reading(frame)
    close = next(e for e in events if isinstance(e, CloseConnection))
    assert close.reason == "ж" * 61


def test_parse_frames_splits_a_stream_and_keeps_the_rest():
    stream = frames.text_frame(b"one") + frames.text_frame(b"x" * 300) + frames.close_frame(1000)
    parsed, rest = frames.parse_frames(stream[:-1])
    assert [p[1] for p in parsed] == [b"one", b"x" * 300]
    assert rest == stream[len(frames.text_frame(b"one")) + len(frames.text_frame(b"x" * 300)):-1]
