"""The broker interface behind channels (SPEC §7); the backends are local_broker and redis_broker."""
from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

# callback(channel, payload): called once per published message, in publish order per channel.
Delivery = Callable[[str, bytes], None]


class Broker(Protocol):
    """Moves opaque payloads from a publisher to every subscriber in every process.

    Each channel also has a version that every publish bumps (before delivery), so a
    poller can answer "has anything changed?" without touching the database.
    """

    def publish(self, channel: str, payload: bytes | str) -> None:
        """Bump the channel's version, then deliver `payload` to every subscriber."""

    def subscribe(self, callback: Delivery) -> None:
        """Receive every message of every channel from now on (deliveries run on the broker's thread)."""

    def version(self, channel: str) -> str:
        """An opaque token that changes whenever the channel publishes (and across restarts)."""

    def close(self) -> None:
        """Stop delivering and release connections."""


def as_bytes(payload: bytes | str) -> bytes:
    return payload.encode("utf-8") if isinstance(payload, str) else bytes(payload)
