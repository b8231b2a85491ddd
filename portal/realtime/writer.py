"""One writer per socket: every byte to the client goes through it, in order, never blocking the room.

A broadcaster calls `offer(frame)` with bytes shared by every socket of the room. When the
writer is idle it tries one non-blocking write (the common case: the kernel buffer has room,
one syscall, done). Otherwise the frame joins a bounded queue that the writer's drain
thread (a greenlet under gevent) empties, joining pending frames into one write. A socket
whose queue is full is too slow: it is dropped with a close frame, and the room moves on.
"""
from __future__ import annotations

import logging
import select
import socket
import threading
import time
from collections import deque
from typing import Callable

from portal.realtime import frames

log = logging.getLogger(__name__)

_DONTWAIT = getattr(socket, "MSG_DONTWAIT", 0)


class SocketWriter:
    """The single writer of one client socket (stdlib socket under threads, gevent socket under gevent)."""

    def __init__(self, sock: socket.socket, *, max_pending: int = 256, write_timeout: float = 10.0,
                 on_closed: Callable[[str], None] | None = None) -> None:
        # gevent sockets wrap a non-blocking _socket.socket; writing to it directly skips the
        # hub round trip. A stdlib socket is itself the raw socket (MSG_DONTWAIT keeps it
        # from blocking).
        self._raw = getattr(sock, "_sock", sock)
        self._max_pending = max_pending
        self._write_timeout = write_timeout
        self._on_closed = on_closed
        self._lock = threading.Lock()
        self._pending: deque[bytes] = deque()
        self._partial_head = False  # pending[0] is the rest of a frame already half written
        self._draining = False
        self._closing = False  # a close frame is queued: accept nothing more
        self._done = threading.Event()  # the close frame went out (or the socket failed)
        self.close_reason = ""
        self.dropped = False

    # -- the broadcast path ----------------------------------------------------------------
    def offer(self, frame: bytes) -> bool:
        """Write or queue one pre-built frame without blocking; False if this socket is gone or dropped."""
        start = False
        with self._lock:
            if self._closing:
                return False
            if not self._draining:
                # Idle writer: nothing queued, nobody writing, so this thread may write now.
                try:
                    sent = self._raw.send(frame, _DONTWAIT)
                except (BlockingIOError, InterruptedError):
                    sent = 0
                except OSError:
                    self._fail_locked()
                    return False
                if sent == len(frame):
                    return True
                if sent:
                    frame = frame[sent:]
                    self._partial_head = True
                self._pending.append(frame)
                self._draining = start = True
            elif len(self._pending) < self._max_pending:
                self._pending.append(frame)
            else:
                self._drop_locked()
                return False
        if start:
            self._spawn()
        return True

    def offer_control(self, data: bytes) -> None:
        """Bytes from simple-websocket itself (pong, close reply): queued in order, never bounded."""
        start = False
        with self._lock:
            if self._closing:
                return
            if data[:1] and data[0] & 0x0F == frames.OPCODE_CLOSE:
                self._closing = True
                self.close_reason = self.close_reason or "closed by client"
            self._pending.append(bytes(data))
            if not self._draining:
                self._draining = start = True
        if start:
            self._spawn()

    # -- closing ---------------------------------------------------------------------------
    def close(self, code: int, reason: str) -> None:
        """Send what is queued, then a close frame with `reason`; accept nothing more."""
        start = False
        with self._lock:
            if self._closing:
                return
            self._closing = True
            self.close_reason = reason
            self._pending.append(frames.close_frame(code, reason))
            if not self._draining:
                self._draining = start = True
        if start:
            self._spawn()

    def _drop_locked(self) -> None:
        """Too slow: forget what it has not read yet, say why, and let the room move on."""
        head = [self._pending[0]] if self._partial_head and self._pending else []
        self._pending = deque(head)
        self._pending.append(frames.close_frame(frames.TRY_AGAIN_LATER, "too slow, reconnect"))
        self._closing = True
        self.dropped = True
        self.close_reason = "too slow"
        log.info("realtime: dropped a slow socket (%d frames pending)", self._max_pending)
        # A drain is already running (the queue is full), and it will send the close frame.

    def _fail_locked(self) -> None:
        self._closing = True
        self._pending.clear()
        self.close_reason = self.close_reason or "socket error"
        self._done.set()
        if self._on_closed is not None:
            self._on_closed(self.close_reason)

    def wait_closed(self, timeout: float) -> bool:
        """Wait until the close frame was written (or the socket failed)."""
        return self._done.wait(timeout)

    @property
    def closing(self) -> bool:
        return self._closing

    # -- the drain worker ------------------------------------------------------------------
    def _spawn(self) -> None:
        threading.Thread(target=self._drain, name="realtime-writer", daemon=True).start()

    def _drain(self) -> None:
        while True:
            with self._lock:
                if not self._pending:
                    self._draining = False
                    finished = self._closing
                    if not finished:
                        return
                else:
                    finished = False
                    chunk = self._pending[0] if len(self._pending) == 1 else b"".join(self._pending)
                    self._pending.clear()
                    self._partial_head = False
            if finished:
                self._finish()
                return
            if not self._write_all(chunk):
                with self._lock:
                    self._draining = False
                    self._fail_locked()
                return

    def _finish(self) -> None:
        """The close frame is out: half-close so the client reads it, then tell the connection."""
        if self._done.is_set():
            return
        try:
            self._raw.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        self._done.set()
        if self._on_closed is not None:
            self._on_closed(self.close_reason)

    def _write_all(self, data: bytes) -> bool:
        view = memoryview(data)
        deadline = time.monotonic() + self._write_timeout
        while view:
            try:
                sent = self._raw.send(view, _DONTWAIT)
            except (BlockingIOError, InterruptedError):
                sent = 0
            except OSError:
                return False
            view = view[sent:]
            if view and not self._wait_writable(deadline):
                log.info("realtime: socket write timed out")
                return False
        return True

    def _wait_writable(self, deadline: float) -> bool:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        try:
            poller = select.poll()  # gevent's cooperative poll when monkey-patched
            poller.register(self._raw.fileno(), select.POLLOUT)
            return bool(poller.poll(remaining * 1000))
        except (OSError, ValueError):
            return False
