"""A per-process background job run every `interval` seconds inside the app's context: the
coalescing pushes of a domain (reaction bursts, the health panel) tick on it.

A thread, or a greenlet under gevent's monkey patching (the same code). It starts on first
use in each process (again in a forked child: an inherited thread does not run there) and
stops with `portal.shutdown(app)` or at exit. An interval of 0 keeps it off (tests call the
job themselves).
"""
from __future__ import annotations

import atexit
import logging
import os
import threading
from collections.abc import Callable

from flask import Flask

from portal.extensions import db

log = logging.getLogger(__name__)


class Ticker:
    """Runs `job()` every `interval` seconds in `app`'s context, in the current process."""

    def __init__(self, app: Flask, name: str, job: Callable[[], object], *, interval: float) -> None:
        self.app = app
        self.name = name
        self.job = job
        self.interval = interval
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid: int | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._pid == os.getpid() and self._thread.is_alive()

    def ensure_started(self) -> None:
        """Cheap when already running in this process."""
        if self.running or self.interval <= 0:
            return
        with self._lock:
            if self.running:
                return
            self._pid, self._stop = os.getpid(), threading.Event()
            self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
            self._thread.start()
        atexit.register(self.stop)

    def _run(self) -> None:
        stop = self._stop
        with self.app.app_context():
            while not stop.wait(self.interval):
                self.tick()

    def tick(self) -> None:
        """One run of the job; a failure is logged and the next tick tries again."""
        try:
            self.job()
        except Exception:
            log.exception("%s tick failed", self.name)
        finally:
            db.session.remove()  # hand the connection back between ticks

    def stop(self, timeout: float = 5.0) -> None:
        thread = self._thread
        if thread is None or self._pid != os.getpid():
            return
        self._stop.set()
        thread.join(timeout)
        self._thread = None
