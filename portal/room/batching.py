"""Chat pushes coalesced per channel: at most one frame per window, none lost (SPEC §10).

A busy room gets 20 messages a second; a frame per message is 20 frames a second on each of
5,000 sockets. So a channel's message ids are pooled (`portal.realtime.pool`: Redis when
several workers share the room, in memory otherwise) and whoever takes the channel's window
(`claim`, SET NX PX) sends them all as one frame:

- leading edge: the first message after a quiet window is sent at once, in the request that
  stored it (a lone message waits for nothing);
- trailing edge: messages stored while the window is held, in any worker, wait in the pool;
  each worker that pooled one comes back when the window ends (one timer per channel per
  process) and one of them takes the next window and sends them. A worker that comes back to
  an empty pool stops: the winner's frame carried its ids.
- the frame is rendered by the caller (`flush`) from the database rows of the ids it takes,
  in id order, so a message is in exactly one frame whichever worker stored it, and the
  moderation rules of the moment apply.

Redis gone (an error, a timeout): the process batches on its own (an in-memory pool) for
DOWN_SECONDS before asking Redis again, so a dead Redis never delays a post by more than one
short timeout and loses nothing; the hub resyncs the pages once the broker is back.
An interval of 0 sends a frame per message (as before this module; tests use it).
Plain Python: the caller's `flush` brings the app context.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from portal.realtime import concurrency
from portal.realtime.pool import LocalPool, Pool

log = logging.getLogger(__name__)

DOWN_SECONDS = 1.0  # after a pool error, batch in this process alone this long
SLACK = 0.005  # come back just after the window ends (Redis expiry is to the millisecond)
TTL = 60  # seconds pooled ids survive without a flush (a worker that died mid-window)

#: `flush(take)` calls `take()` to get the ids to send (sorted) and sends them in one frame;
#: it returns False when it sent nothing. `take` is called inside the caller's ordering block.
Flush = Callable[[Callable[[], list[int]]], bool]
Schedule = Callable[..., None]


class Batcher:
    """Coalesces one kind of chat push (the room's, the console's) for this process."""

    def __init__(self, shared: Pool, *, schedule: Schedule = concurrency.later,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.shared = shared
        self.local = LocalPool()  # Redis unavailable: this process's own batching
        self._schedule = schedule
        self._clock = clock
        self._lock = threading.Lock()
        self._coming_back: set[str] = set()  # channels this process has a trailing attempt for
        self._down_until = 0.0
        self._stopped = False
        self.frames = 0  # frames this process sent (tests, benchmark)

    def add(self, key: str, message_id: int, *, interval: float, flush: Flush) -> None:
        """Message `message_id` (committed) is due on channel `key`: send it now or with the window."""
        if interval <= 0:
            self._flush(flush, lambda: [message_id])
            return
        if not self._shared_ok() or not self.shared.add(key, {str(message_id): 1}, ttl=TTL):
            self._down()
            self.local.add(key, {str(message_id): 1})
        with self._lock:
            if key in self._coming_back:  # our trailing attempt will find it in the pool
                return
            self._coming_back.add(key)
        self._attempt(key, interval, flush)

    def stop(self) -> None:
        """No more trailing attempts (the app shuts down)."""
        self._stopped = True

    # -- the window ------------------------------------------------------------------------
    def _attempt(self, key: str, interval: float, flush: Flush) -> None:
        """Send what is pooled if this caller takes the window, else come back when it ends."""
        if self._stopped:
            return
        try:
            wait = self._claim(key, interval)
            if wait == 0.0:
                self._done(key)  # before taking: an id pooled from now on starts its own attempt
                if not self._flush(flush, lambda: self._take(key)):
                    self._release(key)  # nothing sent: the next message may go at once
                return
            self._done(key)
            if not self._waiting(key):
                return  # the window's holder took ours
            with self._lock:
                if key in self._coming_back:
                    return  # a newer attempt of this process is on it
                self._coming_back.add(key)
            self._schedule(wait + SLACK, self._attempt, key, interval, flush)
        except Exception:
            self._done(key)
            log.exception("chat batch on %s failed", key)

    def _flush(self, flush: Flush, take: Callable[[], list[int]]) -> bool:
        sent = bool(flush(take))
        if sent:
            self.frames += 1
        return sent

    def _done(self, key: str) -> None:
        with self._lock:
            self._coming_back.discard(key)

    # -- the pool, shared when it answers, this process's otherwise -------------------------
    def _shared_ok(self) -> bool:
        return self._clock() >= self._down_until

    def _down(self) -> None:
        self._down_until = self._clock() + DOWN_SECONDS

    def _claim(self, key: str, interval: float) -> float:
        ms = max(int(interval * 1000), 1)
        if self._shared_ok():
            wait = self.shared.claim(key, ms=ms)
            if wait is not None:
                return wait
            self._down()
        wait = self.local.claim(key, ms=ms)
        return 0.0 if wait is None else wait

    def _take(self, key: str) -> list[int]:
        found = dict(self.local.drain(key))
        if self._shared_ok():
            found.update(self.shared.drain(key))
        return sorted(int(i) for i in found)

    def _release(self, key: str) -> None:
        self.local.release(key)
        if self._shared_ok():
            self.shared.release(key)

    def _waiting(self, key: str) -> bool:
        if self.local.size(key):
            return True
        if not self._shared_ok():
            return False
        size = self.shared.size(key)
        if size is None:
            self._down()
            return False
        return size > 0
