"""The per-process hub: channel -> local sockets, fed by the broker, one encoding per message."""
from __future__ import annotations

import json
import logging
import os
import threading
import time
from typing import Protocol

from portal.realtime import frames
from portal.realtime.broker import Broker
from portal.realtime.gcfreeze import FreezePolicy

log = logging.getLogger(__name__)
stats_log = logging.getLogger("portal.realtime.fanout")

# Broker payloads carry a one-byte kind so control messages share the channel (and its order).
_HTML = b"H"
_DISCONNECT = b"D"


class Subscriber(Protocol):
    """A local socket as the hub sees it (portal.realtime.connection.Connection)."""

    member: int | None  # who `disconnect(channel, member=...)` addresses (the domain's id)

    def offer(self, frame: bytes) -> bool:
        """Write or queue a pre-built frame without blocking."""

    def send_text(self, html: str) -> None:
        """Per-socket encode and send: the naive baseline, for benchmarks only."""

    def close(self, code: int, reason: str) -> None:
        """Close this socket with a reason."""

    def ping(self, *, judge: bool = True) -> None:
        """Send a ping; count an unanswered one (when `judge`) and close a silent socket."""


class FanoutStats:
    """Counters of what this process delivered (read by tests and the benchmark)."""

    def __init__(self) -> None:
        self.messages = 0
        self.encodings = 0
        self.recipients = 0
        self.seconds = 0.0

    def record(self, recipients: int, seconds: float) -> None:
        self.messages += 1
        self.recipients += recipients
        self.seconds += seconds


class Hub:
    """Publishes through the broker and writes each delivered message to this process's sockets."""

    def __init__(self, broker: Broker, *, fanout: str = "prebuilt", freezer: FreezePolicy | None = None) -> None:
        if fanout not in ("prebuilt", "naive"):
            raise ValueError(f"unknown fanout mode {fanout!r}")
        self.broker = broker
        self.fanout = fanout
        self.pid = os.getpid()
        self.stats = FanoutStats()
        self._channels: dict[str, set[Subscriber]] = {}
        self._lock = threading.Lock()
        self.open_sockets = 0  # sockets being served by this process, until fully closed
        self.freezer = freezer or FreezePolicy(enabled=False)
        self.stopped = threading.Event()
        broker.subscribe(self._deliver)

    # -- what the portal calls -------------------------------------------------------------
    def publish(self, channel: str, html: str) -> None:
        """Send a fragment to every socket of `channel`, in every process."""
        self.broker.publish(channel, _HTML + html.encode("utf-8"))

    def disconnect(self, channel: str, *, member: int, reason: str) -> None:
        """Close `member`'s sockets in `channel`, in every process."""
        body = json.dumps({"member": int(member), "reason": str(reason)})
        self.broker.publish(channel, _DISCONNECT + body.encode("utf-8"))

    def version(self, channel: str) -> str:
        return self.broker.version(channel)

    # -- local membership ------------------------------------------------------------------
    def join(self, channel: str, subscriber: Subscriber) -> None:
        with self._lock:
            self._channels.setdefault(channel, set()).add(subscriber)

    def leave(self, channel: str, subscriber: Subscriber) -> None:
        with self._lock:
            members = self._channels.get(channel)
            if members is not None:
                members.discard(subscriber)
                if not members:
                    del self._channels[channel]

    def track(self, delta: int) -> None:
        """Count a socket in (+1) once established, out (-1) once its goodbye is complete."""
        with self._lock:
            self.open_sockets += delta
            open_sockets = self.open_sockets
        if delta > 0:
            self.freezer.socket_opened()
        else:
            self.freezer.socket_closed(open_sockets)

    def local_count(self, channel: str) -> int:
        return len(self._channels.get(channel, ()))

    def subscribers(self) -> list[Subscriber]:
        """Every local socket of every channel (a snapshot)."""
        with self._lock:
            return [s for members in self._channels.values() for s in members]

    def close(self) -> None:
        self.stopped.set()
        self.broker.close()

    # -- delivery (broker thread) ----------------------------------------------------------
    def _deliver(self, channel: str, payload: bytes) -> None:
        members = self._channels.get(channel)
        if not members:
            return
        subscribers = tuple(members)  # sockets may join or leave while we write
        kind, body = payload[:1], payload[1:]
        if kind == _HTML:
            self._fanout(channel, body, subscribers)
        elif kind == _DISCONNECT:
            self._disconnect(body, subscribers)
        else:
            log.warning("realtime: unknown payload kind %r on %s", kind, channel)

    def _fanout(self, channel: str, body: bytes, subscribers: tuple[Subscriber, ...]) -> None:
        started = time.perf_counter()
        if self.fanout == "naive":
            text = body.decode("utf-8")
            for subscriber in subscribers:
                subscriber.send_text(text)
        else:
            frame = frames.text_frame(body)  # once per channel per message, whatever the audience
            self.stats.encodings += 1
            for subscriber in subscribers:
                subscriber.offer(frame)
        elapsed = time.perf_counter() - started
        self.stats.record(len(subscribers), elapsed)
        if stats_log.isEnabledFor(logging.DEBUG):
            stats_log.debug("fanout %s mode=%s n=%d loop_us=%.1f", channel, self.fanout, len(subscribers),
                            elapsed * 1e6)

    def _disconnect(self, body: bytes, subscribers: tuple[Subscriber, ...]) -> None:
        order = json.loads(body)
        for subscriber in subscribers:
            if subscriber.member == order["member"]:
                subscriber.close(frames.POLICY_VIOLATION, order["reason"])
