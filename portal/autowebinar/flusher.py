"""The per-process background writer of heartbeats: `flush` every interval, on portal.background.

It starts on the first heartbeat of a process (again in a forked child, after `on_fork`), and
stops at exit after a final flush. app.config["AUTOWEBINAR_FLUSH_INTERVAL"] sets the interval;
0 keeps it off (tests flush by hand).
"""
from __future__ import annotations

from collections.abc import Callable

from flask import Flask, current_app

from portal.background import Loop

FLUSH_INTERVAL = 1.0  # seconds between flushes


class Flusher:
    """The per-process background writer (thread, or greenlet under gevent)."""

    def __init__(self, flush: Callable[[], object], *, on_tick: Callable[[], object] | None = None,
                 on_fork: Callable[[], object] | None = None, interval: float = FLUSH_INTERVAL) -> None:
        self.flush = flush
        self.on_tick = on_tick  # after each flush (housekeeping)
        self._loop = Loop("autowebinar-flusher", self._tick, interval=interval, final=self.flush, on_fork=on_fork)

    @property
    def interval(self) -> float:
        return self._loop.interval

    @interval.setter
    def interval(self, seconds: float) -> None:
        self._loop.interval = seconds

    @property
    def running(self) -> bool:
        return self._loop.running

    def ensure_started(self, app: Flask | None = None) -> None:
        """Start once per process (again in a forked child); cheap when already running.
        app.config["AUTOWEBINAR_FLUSH_INTERVAL"] = 0 disables the thread (tests call flush())."""
        if self.running:
            return
        app = app or current_app._get_current_object()  # type: ignore[attr-defined]
        interval = float(app.config.get("AUTOWEBINAR_FLUSH_INTERVAL", FLUSH_INTERVAL))
        if interval > 0:
            self.interval = interval
            self._loop.start(app)

    def _tick(self) -> None:
        self.flush()
        if self.on_tick is not None:
            self.on_tick()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop after a final flush (at exit, and in tests)."""
        self._loop.stop(timeout)
