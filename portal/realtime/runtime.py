"""The hub of the current app in this process, created on first use (after a fork, anew)."""
from __future__ import annotations

import os
import threading

from flask import Flask, current_app

from portal.realtime import concurrency, pinger
from portal.realtime.broker import make_broker
from portal.realtime.gcfreeze import FreezePolicy
from portal.realtime.hub import Hub

_EXTENSION = "portal.realtime"
_create_lock = threading.Lock()


def current_hub() -> Hub:
    """This process's hub for the current app (Redis-backed when REDIS_URL is set)."""
    return hub_for(current_app._get_current_object())  # type: ignore[attr-defined]


def hub_for(app: Flask) -> Hub:
    hub = app.extensions.get(_EXTENSION)
    if hub is not None and hub.pid == os.getpid():
        return hub
    with _create_lock:
        hub = app.extensions.get(_EXTENSION)
        # A hub inherited through fork has no listener thread: make this process its own.
        if hub is None or hub.pid != os.getpid():
            broker = make_broker(app.config.get("REDIS_URL", ""), prefix=app.config["REALTIME_REDIS_PREFIX"])
            freezer = FreezePolicy(enabled=app.config["REALTIME_GC_FREEZE"] and concurrency.gevent_active())
            hub = Hub(broker, fanout=app.config["REALTIME_FANOUT"], freezer=freezer)
            if app.config["REALTIME_PING_SECONDS"]:
                concurrency.spawn(pinger.run, hub, interval=app.config["REALTIME_PING_SECONDS"],
                                  stopped=hub.stopped)
            app.extensions[_EXTENSION] = hub
    return hub


def shutdown(app: Flask) -> None:
    """Close the app's broker (tests, and apps that are thrown away)."""
    hub = app.extensions.pop(_EXTENSION, None)
    if hub is not None and hub.pid == os.getpid():
        hub.close()
