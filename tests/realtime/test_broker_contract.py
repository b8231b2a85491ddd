"""One contract, both backends: what the hub relies on from any Broker."""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest

from portal.realtime.broker import Broker
from portal.realtime.local_broker import LocalBroker
from tests.realtime.conftest import wait_for

BrokerPair = Callable[[], tuple[Broker, Broker]]


@pytest.fixture(params=["local", "redis"])
def pair(request: pytest.FixtureRequest) -> Iterator[BrokerPair]:
    """Two brokers on the same bus: the same object in-process, two connections for Redis
    (as two server processes would have)."""
    opened: list[Broker] = []

    if request.param == "local":
        def make() -> tuple[Broker, Broker]:
            broker = LocalBroker()
            opened.append(broker)
            return broker, broker
    else:
        url = request.getfixturevalue("redis_url")
        prefix = request.getfixturevalue("redis_prefix")
        from portal.realtime.redis_broker import RedisBroker

        def make() -> tuple[Broker, Broker]:
            a, b = RedisBroker(url, prefix=prefix), RedisBroker(url, prefix=prefix)
            opened.extend((a, b))
            return a, b

    yield make
    for broker in opened:
        broker.close()


class Inbox:
    def __init__(self) -> None:
        self.items: list[tuple[str, bytes]] = []
        self.lock = threading.Lock()

    def __call__(self, channel: str, payload: bytes) -> None:
        with self.lock:
            self.items.append((channel, bytes(payload)))

    def wait(self, n: int) -> list[tuple[str, bytes]]:
        wait_for(lambda: len(self.items) >= n, what=f"{n} deliveries")
        return list(self.items)


def test_a_publish_reaches_every_subscriber_of_every_broker_once(pair):
    a, b = pair()
    inbox_a, inbox_b, inbox_b2 = Inbox(), Inbox(), Inbox()
    a.subscribe(inbox_a)
    b.subscribe(inbox_b)
    b.subscribe(inbox_b2)
    a.publish("room:1", b"<p>hi</p>")
    for inbox in (inbox_a, inbox_b, inbox_b2):
        assert inbox.wait(1) == [("room:1", b"<p>hi</p>")]


def test_payloads_are_bytes_exactly_and_str_is_utf8(pair):
    a, b = pair()
    inbox = Inbox()
    b.subscribe(inbox)
    binary = bytes(range(256))
    a.publish("room:2", binary)
    a.publish("room:2", "Привет <b>мир</b>")
    assert inbox.wait(2) == [("room:2", binary), ("room:2", "Привет <b>мир</b>".encode())]


def test_order_per_channel_is_kept(pair):
    a, b = pair()
    inbox = Inbox()
    b.subscribe(inbox)
    for i in range(200):
        a.publish("room:3", str(i))
    assert [int(p) for _, p in inbox.wait(200)] == list(range(200))


def test_channels_are_kept_apart(pair):
    a, b = pair()
    inbox = Inbox()
    b.subscribe(inbox)
    a.publish("room:4", b"four")
    a.publish("console:4", b"console")
    assert sorted(inbox.wait(2)) == [("console:4", b"console"), ("room:4", b"four")]


def test_version_moves_on_every_publish_and_is_shared(pair):
    a, b = pair()
    b.subscribe(Inbox())
    start = a.version("room:5")
    assert b.version("room:5") == start
    a.publish("room:5", b"x")
    after_one = b.version("room:5")
    assert after_one != start
    a.publish("room:5", b"y")
    assert a.version("room:5") not in (start, after_one)
    assert a.version("room:6") == b.version("room:6")  # untouched channels agree too


def test_version_moves_before_delivery(pair):
    """A subscriber that sees a message and then asks for the version sees the new one."""
    a, b = pair()
    seen: list[str] = []
    before = a.version("room:7")
    b.subscribe(lambda channel, payload: seen.append(b.version(channel)))
    a.publish("room:7", b"x")
    wait_for(lambda: seen, what="delivery")
    assert seen[0] != before


def test_a_failing_subscriber_does_not_starve_the_others(pair):
    a, b = pair()

    def broken(channel: str, payload: bytes) -> None:
        raise RuntimeError("boom")

    inbox = Inbox()
    b.subscribe(broken)
    b.subscribe(inbox)
    a.publish("room:8", b"still delivered")
    assert inbox.wait(1) == [("room:8", b"still delivered")]


def test_close_stops_delivery(pair):
    a, b = pair()
    inbox = Inbox()
    b.subscribe(inbox)
    a.publish("room:9", b"before")
    inbox.wait(1)
    b.close()
    if a is not b:
        a.publish("room:9", b"after")
        marker = Inbox()
        a.subscribe(marker)
        a.publish("room:9", b"marker")
        marker.wait(1)  # a's own later message arrived, so b had its chance
    assert inbox.items == [("room:9", b"before")]
