"""Keep idle sockets out of the collector's full passes, so a broadcast never waits on one.

Each idle socket is ~120 objects that live as long as the socket (greenlet, request, parser,
protocol state). A full collection walks all of them: ~350 ms at 2,000 sockets on a 2-core
VM, and it grows with the room. After sockets connect, and after pongs (a socket wakes for
its pong and blocks again on a new gevent waiter), the young generations are collected and
everything left is frozen (gc.freeze): still freed by reference counting when a socket
closes (connection.py breaks our cycles, so a closed socket leaves no cyclic garbage), just
never walked again. The price: request garbage that had already reached the
oldest generation at a freeze stays until the process has no socket left, when the frozen
set is handed back to the collector. Only under gevent: threaded dev servers hold few sockets.

Between freezes, pongs make sockets allocate fresh waiters (the pinger spreads a round over
its interval, so they trickle in; freezes for them are at most PONG_FREEZE_EVERY seconds
apart); with the default thresholds each gen-1 pass then promotes enough of them to start a
full pass over the growing backlog (40-50 ms each at 10,000 sockets). While the policy is on,
a full pass waits for FULL_PASS_EVERY gen-1 passes instead of 10.
"""
from __future__ import annotations

import gc
import logging
import threading
import time

from portal.realtime import concurrency

log = logging.getLogger(__name__)

DEBOUNCE = 1.0  # seconds from new long-lived objects (sockets, pongs) to the freeze
FULL_PASS_EVERY = 100  # gen-1 passes per full pass while freezing (CPython's default: 10)
PONG_FREEZE_EVERY = 10.0  # seconds: a round's pongs trickle in over its whole interval (pinger.py)


class FreezePolicy:
    def __init__(self, *, enabled: bool) -> None:
        self.enabled = enabled
        self._lock = threading.Lock()
        self._scheduled = False
        self._last_pong_freeze = float("-inf")
        if enabled:
            young, middle, full = gc.get_threshold()
            gc.set_threshold(young, middle, max(full, FULL_PASS_EVERY))

    def socket_opened(self) -> None:
        self.settle()

    def pong(self) -> None:
        """A socket answered a ping and now waits on a fresh waiter: freeze those, at most
        every PONG_FREEZE_EVERY seconds. The pinger spreads a round over its interval, so
        pongs come all the time; a freeze each second would also freeze the cyclic garbage
        of whatever requests were in flight, far more often than needed."""
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._last_pong_freeze < PONG_FREEZE_EVERY:
            return
        self._last_pong_freeze = now
        self.settle()

    def settle(self) -> None:
        """Long-lived objects were just made: freeze them within DEBOUNCE seconds.

        Not "after things are quiet": pongs or arrivals trickling in must not postpone it, or
        the unfrozen backlog (what a full collection walks) would grow with the room.
        """
        if not self.enabled:
            return
        with self._lock:
            if self._scheduled:
                return
            self._scheduled = True
        concurrency.later(DEBOUNCE, self._freeze)

    def socket_closed(self, open_sockets: int) -> None:
        if self.enabled and open_sockets == 0 and gc.get_freeze_count():
            gc.unfreeze()

    def _freeze(self) -> None:
        with self._lock:
            self._scheduled = False
        started = time.perf_counter()
        gc.collect(1)  # young garbage is collected, not frozen
        gc.freeze()
        log.debug("realtime: froze %d objects in %.1f ms", gc.get_freeze_count(),
                  (time.perf_counter() - started) * 1000)
