"""The per-process background writer of heartbeats: a thread calling `flush` every interval.

Under gunicorn's gevent workers the monkey-patched `threading` makes it a greenlet and its
`Event.wait` a cooperative sleep, so the same code runs in both worlds. It starts on the first
heartbeat of a process (again in a forked child), and stops at exit after a final flush.
app.config["AUTOWEBINAR_FLUSH_INTERVAL"] sets the interval; 0 keeps it off (tests flush by hand).
"""
from __future__ import annotations

import atexit
import logging
import os
import threading
from collections.abc import Callable

from flask import Flask, current_app

from portal.extensions import db

log = logging.getLogger(__name__)

FLUSH_INTERVAL = 1.0  # seconds between flushes


class Flusher:
    """The per-process background writer (thread, or greenlet under gevent)."""

    def __init__(self, flush: Callable[[], object], *, on_tick: Callable[[], object] | None = None,
                 on_fork: Callable[[], object] | None = None, interval: float = FLUSH_INTERVAL) -> None:
        self.flush = flush
        self.on_tick = on_tick  # after each flush (housekeeping)
        self.on_fork = on_fork  # in a forked child, before its first start
        self.interval = interval
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid: int | None = None
        self._app: Flask | None = None
        self._atexit = False

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and self._pid == os.getpid()

    def ensure_started(self, app: Flask | None = None) -> None:
        """Start once per process (again in a forked child); cheap when already running.
        app.config["AUTOWEBINAR_FLUSH_INTERVAL"] = 0 disables the thread (tests call flush())."""
        if self.running:
            return
        app = app or current_app._get_current_object()
        interval = float(app.config.get("AUTOWEBINAR_FLUSH_INTERVAL", FLUSH_INTERVAL))
        if interval <= 0:
            return
        with self._lock:
            self.interval = interval
            if self.running:
                return
            if self._pid is not None and self._pid != os.getpid() and self.on_fork is not None:
                self.on_fork()  # forked: the parent's queue is not ours
            self._app, self._pid = app, os.getpid()
            self._stop = threading.Event()
            self._thread = threading.Thread(target=self._run, name="autowebinar-flusher", daemon=True)
            self._thread.start()
            if not self._atexit:
                atexit.register(self.stop)
                self._atexit = True
        log.info("heartbeat flusher started in process %s", self._pid)

    def _run(self) -> None:
        assert self._app is not None
        stop = self._stop
        with self._app.app_context():
            while not stop.wait(self.interval):
                self._tick()
            self._tick()  # the last second before stopping
            db.session.remove()

    def _tick(self) -> None:
        try:
            self.flush()
            if self.on_tick is not None:
                self.on_tick()
        except Exception:
            log.exception("heartbeat flush failed; will retry")
        finally:
            db.session.close()  # hand the connection back to the pool between ticks

    def stop(self, timeout: float = 5.0) -> None:
        """Stop after a final flush (at exit, and in tests)."""
        thread = self._thread
        if thread is None or self._pid != os.getpid():
            return
        self._stop.set()
        thread.join(timeout)
        self._thread = None
