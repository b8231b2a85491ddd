"""Mail work done off the request: per-app background jobs (threads; greenlets under gevent).

Used where a request or a commit must not wait for the mail side: queueing "we are live" /
"thank you" / "cancelled" for a whole webinar (portal.mail.broadcast) and "Email me my link"
(portal.mail.recovery). `settle(app)` waits for them (tests, `portal.shutdown`); each job
runs in its own `fresh_session`, removed when it ends, so no connection outlives it.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from flask import Flask

from portal.dbsession import fresh_session
from portal.realtime import concurrency

log = logging.getLogger(__name__)

_EXT = "portal.mail.jobs"


class Jobs:
    """The background jobs of one app, awaitable."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._lock = threading.Lock()
        self._running: set[threading.Event] = set()  # one per job, set when it ends
        self._closed = False

    def start(self, work: Callable[[], Any], name: str) -> None:
        """Run `work()` in the background, inside a fresh session (app context); after close()
        (the app shuts down) nothing starts: its engine is about to be disposed.

        Started with `concurrency.spawn`, which returns at once. `threading.Thread.start()`
        waits until the new thread runs, and under gevent that lets the job (and any other
        ready greenlet) run first: a go-live request queued its "we are live" job, then its
        room push waited for the job's first page of 500 mails (issue 14, go-live)."""
        ended = threading.Event()

        def run() -> None:
            try:
                with fresh_session(self.app):
                    work()
            except Exception:
                log.exception("mail job %s failed", name)
            finally:
                with self._lock:
                    self._running.discard(ended)
                ended.set()

        with self._lock:
            if self._closed:
                log.warning("mail job %s not started: the app is shutting down", name)
                return
            self._running.add(ended)
        concurrency.spawn(run)

    def settle(self, timeout: float = 30.0) -> bool:
        """Wait until every job started so far ended; False if some still run at `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                running = list(self._running)
            if not running:
                return True
            if time.monotonic() > deadline:
                return False
            running[0].wait(max(0.0, deadline - time.monotonic()))

    def close(self, timeout: float = 30.0) -> bool:
        """Refuse new jobs, then wait for the running ones (portal.shutdown)."""
        with self._lock:
            self._closed = True
        done = self.settle(timeout)
        if not done:
            log.warning("mail jobs still running after %.0f s at shutdown", timeout)
        return done


def jobs(app: Flask) -> Jobs:
    found = app.extensions.get(_EXT)
    if found is None:
        found = app.extensions[_EXT] = Jobs(app)
    return found


def start(app: Flask, work: Callable[[], Any], name: str) -> None:
    jobs(app).start(work, name)


def settle(app: Flask, timeout: float = 30.0) -> bool:
    """Wait for this app's background mail jobs (tests)."""
    found = app.extensions.get(_EXT)
    return found.settle(timeout) if found is not None else True


def close(app: Flask, timeout: float = 30.0) -> bool:
    """No new jobs; wait for the running ones, whose sessions are closed when they end."""
    return jobs(app).close(timeout)
