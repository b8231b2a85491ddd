"""One writer per socket: every byte to the client goes through it, in order, never blocking the room.

A broadcaster calls `offer(frame)` with bytes shared by every socket of the room. When the
writer is idle it tries one non-blocking write (the common case: the kernel buffer has room,
one syscall, done). Otherwise the frame joins a bounded queue that the writer's drain
thread (a greenlet under gevent, started only while there is a backlog) empties, joining
pending frames into one write. A socket whose queue is full is too slow: it is dropped
with a close frame, and the room moves on.
"""
from __future__ import annotations

import logging
import select
import socket
import threading
import time
from collections import deque
from collections.abc import Callable

from portal.realtime import concurrency, frames

log = logging.getLogger(__name__)

_DONTWAIT = getattr(socket, "MSG_DONTWAIT", 0)


class SocketWriter:
    """The single writer of one client socket (stdlib socket under threads, gevent socket under gevent)."""

    # Thousands of idle sockets each hold one: slots, and the queue and event only once needed.
    __slots__ = ("_raw", "_max_pending", "_write_timeout", "_on_closed", "_lock", "_pending",
                 "_partial_head", "_draining", "_closing", "_done", "close_reason", "dropped")

    def __init__(self, sock: socket.socket, *, max_pending: int = 256, write_timeout: float = 10.0,
                 on_closed: Callable[[str], None] | None = None) -> None:
        # gevent sockets wrap a non-blocking _socket.socket; writing to it directly skips the
        # hub round trip. A stdlib socket is itself the raw socket (MSG_DONTWAIT keeps it
        # from blocking).
        self._raw = getattr(sock, "_sock", sock)
        try:  # small frames must not wait for Nagle (gunicorn's listener already sets this)
            self._raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except (OSError, AttributeError):
            pass
        self._max_pending = max_pending
        self._write_timeout = write_timeout
        self._on_closed = on_closed
        self._lock = threading.Lock()
        self._pending: deque[bytes] | None = None
        self._partial_head = False  # pending[0] is the rest of a frame already half written
        self._draining = False
        self._closing = False  # a close frame is queued: accept nothing more
        self._done: threading.Event | None = None  # set once the close frame went out
        self.close_reason = ""
        self.dropped = False

    # -- the broadcast path ----------------------------------------------------------------
    def offer(self, frame: bytes) -> bool:
        """Write or queue one pre-built frame without blocking; False if this socket is gone or dropped."""
        with self._lock:
            if self._closing:
                return False
            if self._draining:
                pending = self._pending
                assert pending is not None
                if len(pending) >= self._max_pending:
                    self._drop_locked()
                    return False
                pending.append(frame)
                return True
            # Idle writer: nothing queued, nobody writing, so this thread may write now.
            start = self._write_now_locked(frame)
        if start:
            self._spawn()
        return not self._closing

    def offer_control(self, data: bytes) -> None:
        """A control frame (pong, ping, close reply): in order with the rest, never bounded."""
        with self._lock:
            if self._closing:
                return
            if self._draining:
                assert self._pending is not None
                self._pending.append(data)
                return
            start = self._write_now_locked(data)
        if start:
            self._spawn()

    def _write_now_locked(self, frame: bytes) -> bool:
        """One non-blocking write; what does not fit is queued. True when a drain must start."""
        try:
            sent = self._raw.send(frame, _DONTWAIT)
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError:
            self._fail_locked()
            return False
        if sent == len(frame):
            return False
        if sent:
            frame = frame[sent:]
            self._partial_head = True
        self._pending = deque((frame,))
        self._draining = True
        return True

    # -- closing ---------------------------------------------------------------------------
    def close(self, code: int, reason: str) -> None:
        """Send what is queued, then a close frame with `reason`; accept nothing more."""
        with self._lock:
            if self._closing:
                return
            self._closing = True
            self.close_reason = reason
            self._done = threading.Event()
            if self._pending is None:
                self._pending = deque()
            self._pending.append(frames.close_frame(code, reason))
            start = not self._draining
            self._draining = True
        if start:
            self._spawn()

    def _drop_locked(self) -> None:
        """Too slow: forget what it has not read yet, say why, and let the room move on."""
        assert self._pending is not None
        head = [self._pending[0]] if self._partial_head and self._pending else []
        self._pending = deque(head)
        self._pending.append(frames.close_frame(frames.TRY_AGAIN_LATER, "too slow, reconnect"))
        self._closing = True
        self._done = threading.Event()
        self.dropped = True
        self.close_reason = "too slow"
        log.info("realtime: dropped a slow socket (%d frames pending)", self._max_pending)
        # A drain is already running (the queue is full), and it will send the close frame.

    def _fail_locked(self) -> None:
        self._closing = True
        self._pending = None
        self.close_reason = self.close_reason or "socket error"
        if self._done is None:
            self._done = threading.Event()
        self._done.set()
        if self._on_closed is not None:
            self._on_closed(self.close_reason)

    def unlink(self) -> None:
        """Forget the connection's callback (it is finished)."""
        self._on_closed = None

    def wait_closed(self, timeout: float) -> bool:
        """Wait until the close frame was written (or the socket failed)."""
        done = self._done
        return done is not None and done.wait(timeout)

    @property
    def closing(self) -> bool:
        return self._closing

    # -- the drain worker ------------------------------------------------------------------
    def _spawn(self) -> None:
        concurrency.spawn(self._drain)

    def _drain(self) -> None:
        while True:
            with self._lock:
                pending = self._pending
                if not pending:
                    self._draining = False
                    self._pending = None
                    if not self._closing:
                        return
                    finished = True
                else:
                    finished = False
                    chunk = pending[0] if len(pending) == 1 else b"".join(pending)
                    pending.clear()
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
        done = self._done
        if done is None or done.is_set():
            return
        try:
            self._raw.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        done.set()
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
