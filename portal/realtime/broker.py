"""The broker interface behind channels (SPEC §7); the backends are local_broker and redis_broker."""
from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

# callback(channel, payload): called once per published message, in publish order per channel.
Delivery = Callable[[str, bytes], None]
# Called after a subscription that was lost (or never made) is in place again, with the time
# (Unix seconds) the gap began: whatever was published since then never reached this process.
Resumed = Callable[[float], None]


class BrokerUnavailable(Exception):
    """The broker cannot be reached right now (Redis down or too slow); nothing was sent."""


class Broker(Protocol):
    """Moves opaque payloads from a publisher to every subscriber in every process.

    Each channel also has a version that every publish bumps (before delivery), so a
    poller can answer "has anything changed?" without touching the database. The version's
    counter doubles as the channel's sequence: `next_seq` bumps it and returns it, `send`
    then delivers without bumping (the hub numbers its messages that way).
    Every method may raise BrokerUnavailable.
    """

    def publish(self, channel: str, payload: bytes | str) -> None:
        """Bump the channel's version, then deliver `payload` to every subscriber."""

    def next_seq(self, channel: str) -> int:
        """Bump the channel's version and return its new counter (1, 2, ... per channel)."""

    def send(self, channel: str, payload: bytes | str) -> None:
        """Deliver `payload` to every subscriber without touching the version."""

    def subscribe(self, callback: Delivery) -> None:
        """Receive every message of every channel from now on (deliveries run on the broker's thread).

        It never fails for an unreachable broker: the subscription is made as soon as it can be."""

    def on_resume(self, callback: Resumed) -> None:
        """Call `callback` each time a lost (or late) subscription is in place again."""

    def version(self, channel: str) -> str:
        """An opaque token that changes whenever the channel publishes (and across restarts)."""

    def close(self) -> None:
        """Stop delivering and release connections."""


def as_bytes(payload: bytes | str) -> bytes:
    return payload.encode("utf-8") if isinstance(payload, str) else bytes(payload)
