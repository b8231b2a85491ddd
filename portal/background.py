"""Per-process background loops of an app: one way to start, wake and stop them.

A `Loop` runs `step()` in a thread of its own inside the app's context: at once again when the
step says it did work (after yielding, so a busy loop never starves a gevent worker), else
after `interval` seconds or as soon as `wake()` is called (a commit it cares about; with
`settle`, that long after it, so a burst's wakes make one step). A step
that raises is logged and the loop lives on. The database session is removed after every step
and at the end, so a sleeping loop holds no connection and none outlives `stop()`: the engine
can be disposed right after. `stop()` ends the loop, runs `final` (a last flush, a release) in
the loop's thread and joins it with a timeout; it is also registered with `atexit`.

Under gunicorn's gevent workers `threading` is monkey-patched: the thread is a greenlet and the
waits are cooperative, so the same code runs in both worlds (portal/realtime/concurrency.py
explains why a broadcast spawns instead; a loop starts outside any broadcast). A loop belongs to
the process that started it: after a fork, `running` is False and `start()` starts a new one
(`on_fork` first). Foundation module: imports no domain.
"""
from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any

from flask import Flask

from portal.extensions import db

log = logging.getLogger(__name__)


class Loop:
    """One background loop of one app in this process (a thread; a greenlet under gevent)."""

    def __init__(self, name: str, step: Callable[[], object], *, interval: float,
                 final: Callable[[], object] | None = None, on_fork: Callable[[], object] | None = None,
                 settle: float = 0.0) -> None:
        self.name = name
        self.step = step
        self.interval = interval  # read before every wait: may be changed while running
        # After a wake, wait this long before the step: the wakes of a burst (one per commit)
        # make one step, not one each.
        self.settle = settle
        self.final = final  # in the loop's thread after the last step, before stop() returns
        self.on_fork = on_fork  # in a forked child, before its first start
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid: int | None = None
        self._atexit = False

    @property
    def running(self) -> bool:
        return self._thread is not None and self._pid == os.getpid() and self._thread.is_alive()

    def start(self, app: Flask) -> bool:
        """Start in this process unless running (cheap then); True if it started now."""
        if self.running:
            return False
        with self._lock:
            if self.running:
                return False
            if self._pid is not None and self._pid != os.getpid() and self.on_fork is not None:
                self.on_fork()  # the parent's state is not ours
            self._pid = os.getpid()
            self._stop = threading.Event()
            self._wake = threading.Event()
            self._thread = threading.Thread(target=self._run, args=(app, self._stop, self._wake), name=self.name,
                                            daemon=True)
            self._thread.start()
            if not self._atexit:
                atexit.register(self.stop)
                self._atexit = True
        log.info("%s started in process %s", self.name, self._pid)
        return True

    def wake(self, *_args: Any, **_kwargs: Any) -> None:
        """Run the next step now rather than after the interval (a signal receiver fits)."""
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> bool:
        """End the loop (after `final`) and wait up to `timeout` s; True if it ended."""
        thread = self._thread
        if thread is None or self._pid != os.getpid():
            return True
        self._stop.set()
        self._wake.set()
        if thread is not threading.current_thread():
            thread.join(timeout)
        self._thread = None
        if thread.is_alive() and thread is not threading.current_thread():
            log.warning("%s did not stop within %.1f s", self.name, timeout)
            return False
        return True

    def _run(self, app: Flask, stop: threading.Event, wake: threading.Event) -> None:
        with app.app_context():
            try:
                while not stop.is_set():
                    busy = self._guarded(self.step)
                    if stop.is_set():
                        break
                    if busy:
                        time.sleep(0)  # let the web requests of a gevent worker run between steps
                        continue
                    woken = wake.wait(self.interval)
                    wake.clear()
                    if woken and self.settle > 0 and not stop.is_set():
                        stop.wait(self.settle)
                        wake.clear()  # the wakes of this window are this step's
                if self.final is not None:
                    self._guarded(self.final)
            finally:
                db.session.remove()

    def _guarded(self, fn: Callable[[], object]) -> bool:
        """Run one step; log and survive what it raises; hand its connection back."""
        try:
            return bool(fn())
        except Exception:
            log.exception("%s: a step failed; the loop goes on", self.name)
            try:
                db.session.rollback()
            except Exception:  # the connection itself is gone: remove() below discards it
                pass
            return False
        finally:
            db.session.remove()
