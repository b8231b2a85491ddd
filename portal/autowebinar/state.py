"""AutoWebinar's per-app, per-process state (app.extensions): the viewer cache, the heartbeat
coalescer, the entered connections and the flusher that writes them."""
from __future__ import annotations

from dataclasses import dataclass, field

from flask import Flask, current_app

from portal.autowebinar.cache import ViewerCache
from portal.autowebinar.coalescer import Coalescer, Connections
from portal.autowebinar.flusher import Flusher

EXTENSION = "portal.autowebinar"


@dataclass
class AutoState:
    flusher: Flusher
    cache: ViewerCache = field(default_factory=ViewerCache)
    coalescer: Coalescer = field(default_factory=Coalescer)
    connections: Connections = field(default_factory=Connections)

    def forget(self) -> None:
        """Drop everything queued or remembered (a forked child: the parent's is not ours)."""
        self.coalescer.drain()
        self.connections.clear()
        self.cache.clear()

    def stop(self) -> None:
        """Stop the flusher after a final flush, then forget (app shutdown, tests)."""
        self.flusher.stop()
        self.forget()


def current(app: Flask | None = None) -> AutoState:
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    return app.extensions[EXTENSION]
