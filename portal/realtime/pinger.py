"""One pinger per process: the same PING bytes to every socket, and the silent ones closed.

A socket that has not answered the previous ping by the next round is dead (a phone that
slept, a NAT that forgot it) and is closed, so presence does not count ghosts. The sweep
yields between chunks so a broadcast never waits behind it. (Each pong makes its socket
wait anew on a fresh gevent waiter; the reader tells the GC freeze policy, see gcfreeze.py.)
"""
from __future__ import annotations

import threading
import time

from portal.realtime.hub import Hub

CHUNK = 500


def run(hub: Hub, *, interval: float, stopped: threading.Event) -> None:
    while not stopped.wait(interval):
        for count, subscriber in enumerate(hub.subscribers(), start=1):
            subscriber.ping()
            if count % CHUNK == 0:
                time.sleep(0)  # under gevent: let broadcasts and requests run
