"""One pinger per process: the same PING bytes to every socket, and the silent ones closed.

A socket that let MISSED_PONGS rounds pass without answering is dead (a phone that slept, a
NAT that forgot it) and is closed, so presence does not count ghosts. Each socket is pinged
once per interval, but a round is spread over the interval: every TICK seconds the sockets of
one slice (by their identity, so a socket keeps its slice and is never pinged twice in a
round) get their ping. The pongs then come back as a trickle. Pinging a whole room at once made
5,000 sockets wake within ~100 ms: a CTA toggle waited behind their pongs (~85 ms at 5,000),
and their fresh gevent waiters set off GC passes of 10-20 ms (issue 14). A slice that starts
late means this process itself was stalled (a long synchronous transaction blocks a gevent
worker): the pongs may be waiting unread, so that slice counts nobody as silent. The sweep
yields between chunks so a broadcast never waits behind it. (Each pong makes its socket wait
anew on a fresh gevent waiter; the reader tells the GC freeze policy, see gcfreeze.py.)
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable

from portal.realtime.hub import Hub

CHUNK = 500
TICK = 1.0  # seconds between two slices of a round (an interval under TICK pings all at once)
_GOLDEN = 0x9E3779B97F4A7C15  # Fibonacci hashing: objects of one size sit at even steps in memory
_MASK = (1 << 64) - 1


def slice_of(subscriber: object, slices: int) -> int:
    """The socket's slice of a round, fixed for its lifetime and spread evenly over the slices
    (id() alone is not: same-size objects are allocated at multiples of their size)."""
    return (((id(subscriber) * _GOLDEN) & _MASK) >> 32) % slices


def run(hub: Hub, *, interval: float, stopped: threading.Event,
        clock: Callable[[], float] = time.monotonic) -> None:
    """Ping `hub`'s sockets until `stopped` is set. `clock` tells how late a slice started
    (the tests drive it, so a slow test machine is not taken for a stalled process)."""
    tick = min(TICK, interval)
    slices = max(1, round(interval / tick))
    last = clock()
    turn = 0
    while not stopped.wait(tick):
        now = clock()
        judge = now - last < tick * 1.5
        last = now
        for count, subscriber in enumerate(hub.subscribers(), start=1):
            if slice_of(subscriber, slices) == turn:
                subscriber.ping(judge=judge)
            if count % CHUNK == 0:
                time.sleep(0)  # under gevent: let broadcasts and requests run
        turn = (turn + 1) % slices
