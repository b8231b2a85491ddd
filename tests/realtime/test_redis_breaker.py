"""A Redis that stops answering costs the broker one timeout, not one per call."""
from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from portal.realtime import redis_broker
from portal.realtime.broker import BrokerUnavailable
from portal.realtime.redis_broker import RedisBroker


class _Silent:
    """A TCP listener that accepts connections and never answers."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.url = f"redis://127.0.0.1:{self.sock.getsockname()[1]}/0"


@pytest.fixture
def silent() -> Iterator[_Silent]:
    listener = _Silent()
    yield listener
    listener.sock.close()


def test_after_a_failed_call_the_next_ones_fail_without_touching_redis(silent, monkeypatch):
    broker = RedisBroker(silent.url, prefix="breaker:")
    try:
        with pytest.raises(BrokerUnavailable):
            broker.publish("room:1", b"x")
        # Within the window nothing reaches the client: each call would otherwise wait out
        # the read timeouts again (seconds per request on a hung Redis).
        def untouchable(*_a, **_k):
            raise AssertionError("the broker used Redis inside its failure window")
        monkeypatch.setattr(broker._redis, "pipeline", untouchable)
        monkeypatch.setattr(broker._redis, "incr", untouchable)
        monkeypatch.setattr(broker._redis, "publish", untouchable)
        monkeypatch.setattr(broker._redis, "mget", untouchable)
        for call in (lambda: broker.publish("room:1", b"x"), lambda: broker.next_seq("room:1"),
                     lambda: broker.send("room:1", b"x"), lambda: broker.version("room:1")):
            with pytest.raises(BrokerUnavailable, match="not retried yet"):
                call()
    finally:
        broker.close()


def test_the_window_ends_and_redis_is_tried_again(silent, monkeypatch):
    monkeypatch.setattr(redis_broker, "BREAKER_SECONDS", 0.0)  # the window already over
    broker = RedisBroker(silent.url, prefix="breaker:")
    try:
        with pytest.raises(BrokerUnavailable):
            broker.next_seq("room:1")
        tried: list[str] = []
        monkeypatch.setattr(broker._redis, "incr", lambda key: tried.append(key) or 7)
        assert broker.next_seq("room:1") == 7 and tried == ["breaker:v:room:1"]
    finally:
        broker.close()


def test_a_restored_subscription_ends_the_window_at_once(silent, monkeypatch):
    broker = RedisBroker(silent.url, prefix="breaker:")
    try:
        with pytest.raises(BrokerUnavailable):
            broker.next_seq("room:1")
        # Redis answers again: the listener's resubscription closes the window.
        monkeypatch.setattr(broker, "_connect", lambda: None)
        assert broker._reconnect()
        monkeypatch.setattr(broker._redis, "incr", lambda key: 3)
        assert broker.next_seq("room:1") == 3
    finally:
        broker._pubsub = None
        broker.close()
