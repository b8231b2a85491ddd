"""Reading a socket in its own request greenlet (or thread): one execution context per socket.

flask-sock and simple-websocket do the handshake; `InlineReader` is the `thread_class` we hand
simple-websocket so it starts no reader thread of its own (a second greenlet per socket costs
~13 KB, measured in bench/fanout.py's notes). `FrameReader` then parses incoming frames with
wsproto's public Connection API and answers pings and close frames through the socket's one
writer (server pings come from portal/realtime/pinger.py, one sweep per process).
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from wsproto.events import BytesMessage, CloseConnection, Ping, Pong, TextMessage
from wsproto.utilities import LocalProtocolError

from portal.realtime import frames
from portal.realtime.writer import SocketWriter

RECV_BYTES = 4096


class InlineReader:
    """A `thread_class` for simple-websocket that starts nothing: the request reads the socket itself."""

    __slots__ = ("name",)  # one per socket, for its lifetime

    def __init__(self, target: Any = None, **kwargs: Any) -> None:
        self.name = "realtime-inline-reader"

    def start(self) -> None:
        pass

    def join(self, timeout: float | None = None) -> None:
        pass

    def is_alive(self) -> bool:
        return False


class NoEvent:
    """An `event_class` for simple-websocket: its event only wakes its own reader thread and
    `receive()`, neither of which runs here, so each socket keeps this slotted stub instead
    of a (gevent) Event for its lifetime."""

    __slots__ = ()

    def set(self) -> None:
        pass

    def clear(self) -> None:
        pass

    def is_set(self) -> bool:
        return False

    def wait(self, timeout: float | None = None) -> bool:
        return False


class FrameReader:
    """Complete messages from one socket; control frames are handled here."""

    __slots__ = ("_sock", "_protocol", "_writer", "_max_bytes", "_on_pong", "awaiting_pong", "missed_pongs",
                 "timed_out", "peer_code", "peer_reason")

    def __init__(self, sock: Any, protocol: Any, writer: SocketWriter, *, max_bytes: int,
                 on_pong: Callable[[], None] | None = None) -> None:
        self._sock = sock  # the server's socket object (gevent's under gevent: cooperative recv)
        self._protocol = protocol  # wsproto.connection.Connection, past the handshake
        self._writer = writer
        self._max_bytes = max_bytes
        self._on_pong = on_pong
        self.awaiting_pong = False  # set by the pinger, cleared by the client's pong
        self.missed_pongs = 0
        self.timed_out = False
        self.peer_code: int | None = None  # the close code the client sent, if it did
        self.peer_reason = ""

    def messages(self) -> Iterator[str | bytes]:
        """Yield each text (str) or binary (bytes) message until the socket closes."""
        parts: list[Any] = []
        size = 0
        event: Any = None
        while True:
            try:
                data = self._sock.recv(RECV_BYTES)
            except (BlockingIOError, InterruptedError):
                continue
            except (OSError, ValueError):
                return
            if not data:
                return
            try:
                self._protocol.receive_data(data)
            except LocalProtocolError:
                return
            for event in self._protocol.events():
                if isinstance(event, (TextMessage, BytesMessage)):
                    size += len(event.data)
                    if size > self._max_bytes:
                        self._writer.close(frames.TOO_BIG, "message too big")
                        return
                    parts.append(event.data)
                    if event.message_finished:
                        yield parts[0] if len(parts) == 1 else type(parts[0])().join(parts)
                        parts, size = [], 0
                elif isinstance(event, Ping):
                    self._writer.offer_control(frames.pong_frame(bytes(event.payload)))
                elif isinstance(event, Pong):
                    self.awaiting_pong = False
                    self.missed_pongs = 0
                    if self._on_pong is not None:
                        self._on_pong()
                elif isinstance(event, CloseConnection):
                    self.peer_code, self.peer_reason = int(event.code), event.reason or ""
                    code = int(event.code)
                    echo = code if 1000 <= code < 5000 and code not in (1005, 1006) else 1000
                    self._writer.close(echo, "")
                    return
            event = None  # hold nothing while idle: it would outlive the next freeze (gcfreeze.py)
