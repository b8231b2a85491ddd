"""The hub's per-channel order (issue 9, points 8 and 15): numbered messages are delivered in
number order, a missing number is waited for briefly and then answered with a resync, a
broker that does not answer leaves local delivery working and resyncs every process after."""
from __future__ import annotations

import re
import time

import pytest

from portal.realtime import frames
from portal.realtime.broker import BrokerUnavailable
from portal.realtime.hub import RESYNC_MARGIN, Hub
from portal.realtime.local_broker import LocalBroker
from tests.realtime.conftest import wait_for
from tests.realtime.test_hub import FakeSocket

CHANNEL = "room:1"


RESYNC = "resync"


def texts(sock: FakeSocket) -> list[str]:
    """What the socket received; resync markers as RESYNC."""
    out = []
    for frame in sock.frames:
        parsed, _ = frames.parse_frames(frame)
        out.extend(RESYNC if resync_since(payload.decode()) else payload.decode() for _, payload in parsed)
    return out


def resync_since(text: str) -> float | None:
    match = re.fullmatch(r'<template data-realtime="resync" data-since="([0-9.]+)"></template>', text)
    return float(match.group(1)) if match else None


def last_resync_since(sock: FakeSocket) -> float:
    parsed, _ = frames.parse_frames(sock.frames[-1])
    since = resync_since(parsed[-1][1].decode())
    assert since is not None
    return since


@pytest.fixture
def hub():
    hub = Hub(LocalBroker())
    yield hub
    hub.close()


def test_a_publish_that_overtakes_a_reserved_number_waits_for_it(hub):
    sock = FakeSocket()
    hub.join(CHANNEL, sock)
    hub.publish(CHANNEL, "<p>zero</p>")
    early = hub.reserve(CHANNEL)  # read the database, render ... (slow)
    hub.publish(CHANNEL, "<p>later</p>")  # a later change overtakes it
    assert texts(sock) == ["<p>zero</p>"]
    hub.publish(CHANNEL, "<p>earlier</p>", seq=early)
    assert texts(sock) == ["<p>zero</p>", "<p>earlier</p>", "<p>later</p>"]
    assert hub.resyncs == 0


def test_a_released_number_lets_the_channel_move_on_at_once(hub):
    sock = FakeSocket()
    hub.join(CHANNEL, sock)
    hub.publish(CHANNEL, "<p>zero</p>")
    unused = hub.reserve(CHANNEL)
    hub.publish(CHANNEL, "<p>next</p>")
    hub.release(CHANNEL, unused)
    assert texts(sock) == ["<p>zero</p>", "<p>next</p>"]


def test_a_number_that_never_comes_is_given_up_with_a_resync(hub):
    hub.reorder_window = 0.05
    sock = FakeSocket()
    hub.join(CHANNEL, sock)
    hub.publish(CHANNEL, "<p>zero</p>")
    hub.reserve(CHANNEL)  # its publisher dies
    hub.publish(CHANNEL, "<p>after</p>")
    wait_for(lambda: RESYNC in texts(sock), what="the resync")
    assert texts(sock) == ["<p>zero</p>", "<p>after</p>", RESYNC]


def test_a_number_that_comes_too_late_is_shown_and_followed_by_a_resync(hub):
    hub.reorder_window = 0.05
    sock = FakeSocket()
    hub.join(CHANNEL, sock)
    hub.publish(CHANNEL, "<p>zero</p>")
    slow = hub.reserve(CHANNEL)
    hub.publish(CHANNEL, "<p>after</p>")
    wait_for(lambda: RESYNC in texts(sock), what="the give-up")
    hub.publish(CHANNEL, "<p>stale</p>", seq=slow)
    assert texts(sock)[-2:] == ["<p>stale</p>", RESYNC]


class FlakyBroker(LocalBroker):
    """A LocalBroker that can be switched off (as a Redis that went away)."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False
        self.resumed: list = []

    def next_seq(self, channel: str) -> int:
        if self.down:
            raise BrokerUnavailable("down")
        return super().next_seq(channel)

    def send(self, channel: str, payload) -> None:
        if self.down:
            raise BrokerUnavailable("down")
        super().send(channel, payload)

    def version(self, channel: str) -> str:
        if self.down:
            raise BrokerUnavailable("down")
        return super().version(channel)

    def on_resume(self, callback) -> None:
        self.resumed.append(callback)


def test_while_the_broker_is_down_local_sockets_still_get_messages_and_all_resync_after():
    broker = FlakyBroker()
    hub, other_process_socket = Hub(broker), FakeSocket()
    here = FakeSocket()
    hub.join(CHANNEL, here)
    hub.join("room:2", other_process_socket)
    broker.down = True
    went_down = time.time()
    assert hub.version(CHANNEL) is None  # pollers go to the database
    hub.publish(CHANNEL, "<p>while down</p>")
    assert texts(here) == ["<p>while down</p>"]
    broker.down = False
    before = broker.version(CHANNEL)
    for resumed in broker.resumed:  # the subscription is back; it was lost when Redis went down
        resumed(went_down)
    # Every page catches up from (a margin before) the start of the gap.
    assert texts(other_process_socket) == [RESYNC]
    assert last_resync_since(other_process_socket) == pytest.approx(went_down - RESYNC_MARGIN, abs=0.01)
    # The channel we could not publish to is told through the broker too (every process) and
    # its version moved, so a poller's old ETag is not current any more.
    assert texts(here) == ["<p>while down</p>", RESYNC, RESYNC]
    assert last_resync_since(here) <= went_down - RESYNC_MARGIN + 0.01
    assert broker.version(CHANNEL) != before
    hub.close()
