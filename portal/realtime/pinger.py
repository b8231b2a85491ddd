"""One pinger per process: the same PING bytes to every socket, and the silent ones closed.

A socket that let MISSED_PONGS rounds pass without answering is dead (a phone that slept, a
NAT that forgot it) and is closed, so presence does not count ghosts. A round that starts
late means this process itself was stalled (a long synchronous transaction blocks a gevent
worker): the pongs may be waiting unread, so that round counts nobody as silent. The sweep
yields between chunks so a broadcast never waits behind it. (Each pong makes its socket
wait anew on a fresh gevent waiter; the reader tells the GC freeze policy, see gcfreeze.py.)
"""
from __future__ import annotations

import threading
import time

from portal.realtime.hub import Hub

CHUNK = 500


def run(hub: Hub, *, interval: float, stopped: threading.Event) -> None:
    last = time.monotonic()
    while not stopped.wait(interval):
        now = time.monotonic()
        judge = now - last < interval * 1.5
        last = now
        for count, subscriber in enumerate(hub.subscribers(), start=1):
            subscriber.ping(judge=judge)
            if count % CHUNK == 0:
                time.sleep(0)  # under gevent: let broadcasts and requests run
