"""The per-process hub: channel -> local sockets, fed by the broker, one encoding per message.

Order (issue 9, point 15): every message of a channel carries the channel's sequence number
(the broker's version counter, taken with `next_seq` at publish time, or earlier with
`reserve` by a publisher that reads the database after taking it: see `realtime.ordered`).
Each hub delivers a channel's messages to its sockets in sequence order: one that arrives
ahead of a missing number waits up to REORDER_WINDOW seconds in a small buffer. A number that
never comes (its publisher died, Redis dropped it) or comes too late makes the hub tell the
channel's sockets to catch up (`RESYNC`: static/js/realtime.js answers with `hello`), so a
region never stays older than the last commit.

Broker loss (point 8): a publish that the broker refuses is delivered to this process's
sockets at once (unsequenced) and its channel remembered; when the broker answers again the
hub sends a resync through it to those channels (their version moves too, for pollers), and
when this process's subscription comes back after a gap every local socket resyncs.
"""
from __future__ import annotations

import json
import logging
import os
import threading
import time
from typing import Protocol

from portal.realtime import concurrency, frames
from portal.realtime.broker import Broker, BrokerUnavailable
from portal.realtime.gcfreeze import FreezePolicy

log = logging.getLogger(__name__)
stats_log = logging.getLogger("portal.realtime.fanout")

# Broker payloads: a one-byte kind, the channel sequence in ASCII (0: unsequenced, delivered
# at once), a space, the body. Control messages share the channel (and its order).
_HTML = b"H"
_DISCONNECT = b"D"
_RESYNC = b"R"
_SKIP = b"N"  # a reserved number that carries nothing (its publisher had nothing to say)
_MEMBER_HTML = b"M"  # a fragment for one member's sockets only: {"member", "html"}

#: Seconds a message that arrived ahead of its turn waits for the missing ones.
REORDER_WINDOW = 0.5
#: How far before the start of a gap a resync reaches back (a hung Redis is noticed late).
RESYNC_MARGIN = 30.0


def resync_message(since: float) -> str:
    """The text frame that asks a page to say `hello` again (static/js/realtime.js): what the
    page received from `since` (server clock, Unix seconds) on may be incomplete, so the page
    asks for everything after the last message it had before then."""
    return f'<template data-realtime="resync" data-since="{since:.3f}"></template>'


def pack(kind: bytes, seq: int, body: bytes = b"") -> bytes:
    return kind + str(seq).encode("ascii") + b" " + body


def unpack(payload: bytes) -> tuple[bytes, int, bytes]:
    kind, rest = payload[:1], payload[1:]
    head, _, body = rest.partition(b" ")
    return kind, int(head) if head.isdigit() else 0, body


class _Order:
    """One channel's delivery state: the next number due and what arrived ahead of it."""

    __slots__ = ("due", "held", "waiting")

    def __init__(self, due: int) -> None:
        self.due = due
        self.held: dict[int, tuple[bytes, bytes]] = {}
        self.waiting = False


_CAPPED = b"O"  # a capped socket opened: {"member", "id", "keep", "reason"}
_GONE = b"G"  # a capped socket closed: {"member", "id"}


class Subscriber(Protocol):
    """A local socket as the hub sees it (portal.realtime.connection.Connection)."""

    member: int | None  # who `disconnect(channel, member=...)` addresses (the domain's id)
    id: str  # unique per socket (capped sockets are named by it across processes)

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
        # Per-member socket caps: (channel, member) -> ids of that member's capped sockets in
        # the broker's order, kept while this process serves one of them; id -> (channel, member).
        self._capped_order: dict[tuple[str, int], list[str]] = {}
        self._capped_local: dict[str, tuple[str, int]] = {}
        self.resyncs = 0  # resync frames sent (tests)
        self._order: dict[str, _Order] = {}
        self._order_lock = threading.RLock()
        self._missed: dict[str, float] = {}  # channels whose publish the broker refused: since when
        self.reorder_window = REORDER_WINDOW
        broker.on_resume(self._resumed)
        broker.subscribe(self._deliver)

    # -- what the portal calls -------------------------------------------------------------
    def publish(self, channel: str, html: str, *, seq: int | None = None) -> None:
        """Send a fragment to every socket of `channel`, in every process (`seq`: a number
        taken with `reserve`, else the next one)."""
        self._send(channel, _HTML, html.encode("utf-8"), seq)

    def publish_to(self, channel: str, html: str, *, member: int, seq: int | None = None) -> None:
        """Send a fragment to `member`'s sockets of `channel` only, in every process (in the
        channel's order; the channel's version moves, so its pollers re-read)."""
        body = json.dumps({"member": int(member), "html": html})
        self._send(channel, _MEMBER_HTML, body.encode("utf-8"), seq)

    def publish_volatile(self, channel: str, html: str) -> None:
        """Send a fragment to every socket of `channel` in every process, unnumbered (seq 0:
        delivered on arrival, the version untouched); this process only while the broker is down."""
        payload = pack(_HTML, 0, html.encode("utf-8"))
        try:
            self.broker.send(channel, payload)
        except BrokerUnavailable:
            self._deliver(channel, payload)

    def disconnect(self, channel: str, *, member: int, reason: str) -> None:
        """Close `member`'s sockets in `channel`, in every process."""
        body = json.dumps({"member": int(member), "reason": str(reason)})
        self._send(channel, _DISCONNECT, body.encode("utf-8"), None)

    def cap(self, channel: str, *, member: int, socket_id: str, keep: int, reason: str) -> None:
        """Keep at most `keep` sockets of `member` in `channel`, in every process:
        the socket just opened is announced through the broker, and each process closes its
        own sockets of that member that have `keep` newer ones announced after them (1008,
        `reason`). Every process sees the channel's announcements in the same order, so they
        agree which are the oldest; a process that died leaves only old ids behind, which no
        longer count once newer ones arrive."""
        with self._lock:
            self._capped_local[socket_id] = (channel, int(member))
        body = json.dumps({"member": int(member), "id": socket_id, "keep": int(keep), "reason": str(reason)})
        self._send(channel, _CAPPED, body.encode("utf-8"), None)

    def reserve(self, channel: str) -> int | None:
        """Take the channel's next number now, to publish with later (None: broker unavailable)."""
        try:
            return self.broker.next_seq(channel)
        except BrokerUnavailable:
            self._missed.setdefault(channel, time.time())
            return None

    def release(self, channel: str, seq: int) -> None:
        """A reserved number that will carry nothing: let the channel move past it."""
        self._send(channel, _SKIP, b"", seq)

    def version(self, channel: str) -> str | None:
        """The channel's version, or None when the broker cannot say (pollers go to the database)."""
        try:
            return self.broker.version(channel)
        except BrokerUnavailable:
            return None

    def _send(self, channel: str, kind: bytes, body: bytes, seq: int | None) -> None:
        try:
            if seq is None:
                seq = self.broker.next_seq(channel)
            self.broker.send(channel, pack(kind, seq, body))
        except BrokerUnavailable:
            log.warning("realtime: broker unavailable; %s delivered to this process only", channel)
            self._missed.setdefault(channel, time.time())
            if kind != _SKIP:
                self._deliver(channel, pack(kind, 0, body))
            return
        if self._missed:
            self._flush_missed()

    def _flush_missed(self) -> None:
        """The broker answers again: every process's sockets of the channels we could not
        publish to catch up (and the channels' versions move, so pollers re-read)."""
        missed, self._missed = self._missed, {}
        for channel, since in missed.items():
            body = f"{since - RESYNC_MARGIN:.3f}".encode("ascii")
            try:
                self.broker.send(channel, pack(_RESYNC, self.broker.next_seq(channel), body))
            except BrokerUnavailable:
                self._missed.setdefault(channel, since)

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
            capped = self._capped_local.pop(getattr(subscriber, "id", ""), None)
            if capped is not None:
                self._forget_capped(capped, subscriber.id)
        if capped is not None:  # the other processes stop counting it
            try:
                body = json.dumps({"member": capped[1], "id": subscriber.id})
                self._send(channel, _GONE, body.encode("utf-8"), None)
            except Exception:
                log.exception("realtime: announcing the end of a capped socket on %s failed", channel)

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
        kind, seq, body = unpack(payload)
        with self._order_lock:
            if not self._channels.get(channel):
                self._order.pop(channel, None)  # nobody here: the next socket starts afresh
                if kind == _GONE:
                    self._handle(channel, kind, body)
                return
            if seq == 0:
                self._handle(channel, kind, body)
                return
            order = self._order.get(channel)
            if order is None:
                order = self._order[channel] = _Order(seq)
            if seq < order.due:
                # Too late: what it shows may be older than what followed. Show it, then let
                # the pages read the current state.
                self._handle(channel, kind, body)
                self._resync(channel, time.time() - RESYNC_MARGIN)
                return
            if seq > order.due:
                order.held[seq] = (kind, body)
                if not order.waiting:
                    order.waiting = True
                    concurrency.later(self.reorder_window, self._give_up, channel, order)
                return
            self._handle(channel, kind, body)
            order.due += 1
            while order.due in order.held:
                self._handle(channel, *order.held.pop(order.due))
                order.due += 1

    def _give_up(self, channel: str, order: _Order) -> None:
        """A number is missing for too long: deliver what waits, in order, then resync."""
        with self._order_lock:
            order.waiting = False
            if self._order.get(channel) is not order or not order.held:
                return
            for seq in sorted(order.held):
                self._handle(channel, *order.held[seq])
            order.due = max(order.held) + 1
            order.held.clear()
            self._resync(channel, time.time() - self.reorder_window - RESYNC_MARGIN)

    def _resync(self, channel: str, since: float) -> None:
        """Ask every local socket of `channel` to say hello again (a catch-up snapshot)."""
        frame = frames.text_frame(resync_message(since).encode("ascii"))
        for subscriber in tuple(self._channels.get(channel, ())):
            subscriber.offer(frame)
            self.resyncs += 1

    def _resumed(self, gap_began: float) -> None:
        """This process's subscription is back after a gap: every local socket catches up,
        and the channels we could not publish to are told in every process."""
        since = gap_began - RESYNC_MARGIN
        with self._order_lock:
            self._order.clear()
            for channel in tuple(self._channels):
                self._resync(channel, since)
        if self._missed:
            try:
                self._flush_missed()
            except Exception:
                log.exception("realtime: resync of missed channels failed")

    def _handle(self, channel: str, kind: bytes, body: bytes) -> None:
        subscribers = tuple(self._channels.get(channel, ()))  # sockets may join or leave while we write
        if kind == _HTML:
            self._fanout(channel, body, subscribers)
        elif kind == _MEMBER_HTML:
            self._to_member(body, subscribers)
        elif kind == _DISCONNECT:
            self._disconnect(body, subscribers)
        elif kind == _CAPPED:
            self._capped(channel, body, subscribers)
        elif kind == _GONE:
            order = json.loads(body)
            with self._lock:
                self._forget_capped((channel, int(order["member"])), order["id"])
        elif kind == _RESYNC:
            try:
                since = float(body.decode("ascii"))
            except ValueError:
                since = time.time() - RESYNC_MARGIN
            self._resync(channel, since)
        elif kind != _SKIP:
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

    def _to_member(self, body: bytes, subscribers: tuple[Subscriber, ...]) -> None:
        order = json.loads(body)
        frame = None
        for subscriber in subscribers:
            if subscriber.member == order["member"]:
                frame = frame or frames.text_frame(order["html"].encode("utf-8"))
                subscriber.offer(frame)

    def _disconnect(self, body: bytes, subscribers: tuple[Subscriber, ...]) -> None:
        order = json.loads(body)
        for subscriber in subscribers:
            if subscriber.member == order["member"]:
                subscriber.close(frames.POLICY_VIOLATION, order["reason"])

    def _capped(self, channel: str, body: bytes, subscribers: tuple[Subscriber, ...]) -> None:
        order = json.loads(body)
        key = (channel, int(order["member"]))
        to_close: list[Subscriber] = []
        with self._lock:
            recent = self._capped_order.get(key)
            if recent is None:
                if self._capped_local.get(order["id"]) != key:
                    return  # none of ours to compare with
                recent = self._capped_order[key] = []
            if order["id"] not in recent:
                recent.append(order["id"])
            mine = {s.id: s for s in subscribers if getattr(s, "id", None) in self._capped_local}
            while len(recent) > int(order["keep"]):
                oldest = recent.pop(0)
                if oldest in mine:
                    to_close.append(mine[oldest])
            if not any(i in self._capped_local for i in recent):
                del self._capped_order[key]
        for subscriber in to_close:
            subscriber.close(frames.POLICY_VIOLATION, order["reason"])

    def _forget_capped(self, key: tuple[str, int], socket_id: str) -> None:
        """(under the lock) Drop a closed socket from its member's order."""
        recent = self._capped_order.get(key)
        if recent is None:
            return
        if socket_id in recent:
            recent.remove(socket_id)
        if not any(i in self._capped_local for i in recent):
            del self._capped_order[key]
