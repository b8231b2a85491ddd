"""Per-app realtime state (app.extensions): the socket handlers and this process's hub."""
from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from flask import Flask, current_app

from portal.realtime import concurrency, pinger
from portal.realtime.broker import Broker
from portal.realtime.gcfreeze import FreezePolicy
from portal.realtime.hub import Hub

if TYPE_CHECKING:
    from portal.realtime.context import SocketContext

EXTENSION = "portal.realtime"
Handler = Callable[["SocketContext", dict[str, Any]], None]


class Realtime:
    """One app's realtime: frame handlers by (audience, `type`), and a hub per process (made on
    first use, anew after a fork: an inherited hub has no listener thread)."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.handlers: dict[tuple[str | None, str], Handler] = {}
        self._hub: Hub | None = None
        self._lock = threading.Lock()

    def register(self, type_: str, fn: Handler, *, audience: str | None = None) -> Handler:
        """Route frames whose `type` is `type_` from sockets of `audience` (None: every socket)
        to `fn`; a second, different handler for the same key is a bug."""
        existing = self.handlers.get((audience, type_))
        if existing is not None and existing is not fn:
            raise ValueError(f"socket message type {type_!r} already handled by {existing!r}")
        self.handlers[(audience, type_)] = fn
        return fn

    def lookup(self, type_: str, audience: str | None = None) -> Handler | None:
        return self.handlers.get((audience, type_)) or self.handlers.get((None, type_))

    def hub(self) -> Hub:
        hub = self._hub
        if hub is not None and hub.pid == os.getpid():
            return hub
        with self._lock:
            hub = self._hub
            if hub is None or hub.pid != os.getpid():
                hub = self._hub = _make_hub(self.app)
        return hub

    def shutdown(self) -> None:
        """Close this process's hub (tests, and apps that are thrown away)."""
        with self._lock:
            hub, self._hub = self._hub, None
        if hub is not None and hub.pid == os.getpid():
            hub.close()


def make_broker(redis_url: str, *, prefix: str) -> Broker:
    """Redis pub/sub when a URL is configured (several processes), else in-process."""
    if redis_url:
        from portal.realtime.redis_broker import RedisBroker  # imports redis only when used

        return RedisBroker(redis_url, prefix=prefix)
    from portal.realtime.local_broker import LocalBroker

    return LocalBroker()


def _make_hub(app: Flask) -> Hub:
    config = app.config
    broker = make_broker(config.get("REDIS_URL", ""), prefix=config["REALTIME_REDIS_PREFIX"])
    freezer = FreezePolicy(enabled=config["REALTIME_GC_FREEZE"] and concurrency.gevent_active())
    hub = Hub(broker, fanout=config["REALTIME_FANOUT"], freezer=freezer)
    if config["REALTIME_PING_SECONDS"]:
        concurrency.spawn(pinger.run, hub, interval=config["REALTIME_PING_SECONDS"], stopped=hub.stopped)
    return hub


def state(app: Flask | None = None) -> Realtime:
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    return app.extensions[EXTENSION]


def current_hub() -> Hub:
    """This process's hub for the current app (Redis-backed when REDIS_URL is set)."""
    return state().hub()


def hub_for(app: Flask) -> Hub:
    return state(app).hub()


def shutdown(app: Flask) -> None:
    realtime = app.extensions.get(EXTENSION)
    if realtime is not None:
        realtime.shutdown()
