"""The hub: one encoding per channel per message, the same bytes to every local socket."""
from __future__ import annotations

import pytest

from portal.realtime import frames
from portal.realtime.hub import Hub
from portal.realtime.local_broker import LocalBroker


class FakeSocket:
    def __init__(self, member: int | None = None) -> None:
        self.member = member
        self.frames: list[bytes] = []
        self.closed: tuple[int, str] | None = None

    def offer(self, frame: bytes) -> bool:
        self.frames.append(frame)
        return True

    def send_text(self, html: str) -> None:
        self.frames.append(html.encode())

    def close(self, code: int, reason: str) -> None:
        self.closed = (code, reason)


@pytest.fixture
def hub():
    hub = Hub(LocalBroker())
    yield hub
    hub.close()


def test_each_message_is_encoded_once_for_the_whole_channel(hub, monkeypatch):
    encodings = []
    real = frames.text_frame
    monkeypatch.setattr(frames, "text_frame", lambda payload: encodings.append(payload) or real(payload))
    sockets = [FakeSocket() for _ in range(500)]
    for s in sockets:
        hub.join("room:1", s)
    hub.publish("room:1", "<div id='cta' hx-swap-oob='true'>Buy</div>")
    hub.publish("room:1", "<div id='cta' hx-swap-oob='true'></div>")
    assert len(encodings) == 2 and hub.stats.encodings == 2
    assert hub.stats.recipients == 1000
    first = sockets[0].frames[0]
    # Not equal copies: the very same bytes object went to every socket.
    assert all(s.frames[0] is first for s in sockets)
    assert frames.parse_frames(first)[0] == [(frames.OPCODE_TEXT, b"<div id='cta' hx-swap-oob='true'>Buy</div>")]


def test_channels_only_reach_their_own_sockets(hub):
    room, console, other = FakeSocket(), FakeSocket(), FakeSocket()
    hub.join("room:1", room)
    hub.join("console:1", console)
    hub.join("room:2", other)
    hub.publish("room:1", "r")
    hub.publish("console:1", "c")
    assert [len(room.frames), len(console.frames), len(other.frames)] == [1, 1, 0]


def test_a_socket_that_left_gets_nothing_more(hub):
    s = FakeSocket()
    hub.join("room:1", s)
    hub.publish("room:1", "one")
    hub.leave("room:1", s)
    hub.publish("room:1", "two")
    assert len(s.frames) == 1 and hub.local_count("room:1") == 0


def test_disconnect_closes_only_that_leads_sockets_and_moves_the_version(hub):
    banned_a, banned_b, other = FakeSocket(7), FakeSocket(7), FakeSocket(8)
    for s in (banned_a, banned_b, other):
        hub.join("room:1", s)
    before = hub.version("room:1")
    hub.disconnect("room:1", member=7, reason="banned")
    assert banned_a.closed == banned_b.closed == (frames.POLICY_VIOLATION, "banned")
    assert other.closed is None
    assert hub.version("room:1") != before


def test_naive_mode_sends_per_socket_text(monkeypatch):
    hub = Hub(LocalBroker(), fanout="naive")
    s = FakeSocket()
    hub.join("room:1", s)
    hub.publish("room:1", "plain")
    assert s.frames == [b"plain"] and hub.stats.encodings == 0
    hub.close()


def test_a_member_addressed_fragment_reaches_that_member_only(hub):
    asker, other_tab, neighbour = FakeSocket(member=7), FakeSocket(member=7), FakeSocket(member=8)
    elsewhere = FakeSocket(member=7)
    for s in (asker, other_tab, neighbour):
        hub.join("room:1", s)
    hub.join("room:2", elsewhere)
    before = hub.version("room:1")
    hub.publish_to("room:1", "<div id='qa-list'>mine</div>", member=7)
    assert [frames.parse_frames(s.frames[0])[0] for s in (asker, other_tab)] == \
        [[(frames.OPCODE_TEXT, b"<div id='qa-list'>mine</div>")]] * 2
    assert neighbour.frames == [] and elsewhere.frames == []
    assert hub.version("room:1") != before  # pollers of the channel re-read
