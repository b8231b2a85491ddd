"""The dispatcher: a loop (portal.background) that fans out, claims and records in one
transaction per round, and a few workers posting the claimed deliveries (no database work).

Where it runs is `app.config["WEBHOOK_DISPATCHER"]` (`PORTAL_WEBHOOK_DISPATCHER`):

- `embedded` (the default, `make run`): every web process runs one, started with its first
  request and stopped by `portal.shutdown`; woken by `event_committed` after each commit of
  this process, else a cheap lock-free look every POLL_EMBEDDED seconds (retries coming due,
  events committed by other processes);
- `external`: web processes run none; `flask --app wsgi portal dispatcher` does, in a process
  of its own (any number of them on PostgreSQL), looking every POLL_EXTERNAL seconds.

A round: record the outcomes that came back, fan out the next events, claim enough due
deliveries to keep the workers busy (at most PER_ENDPOINT in flight per endpoint, so a slow or
failing receiver cannot take them all), commit once, hand the claims to the workers. A worker
wakes the loop when a batch of outcomes is ready or it has nothing left to do. No web request
waits for a delivery.
"""
from __future__ import annotations

import atexit
import logging
import queue
import signal
import threading
import time
from typing import Any

import httpx
from flask import Flask, current_app

from portal import signals
from portal.background import Loop
from portal.config import choice
from portal.db_types import utcnow
from portal.extensions import db
from portal.webhooks import delivery
from portal.webhooks.delivery import Job, Outcome

log = logging.getLogger(__name__)

EXTENSION = "portal.webhooks.dispatcher"
EMBEDDED, EXTERNAL = "embedded", "external"
WORKERS = 16  # concurrent attempts per dispatcher
PER_ENDPOINT = 8  # attempts in flight per endpoint and dispatcher
RECORD_BATCH = 200  # outcomes recorded per round at most
#: After a wake, the loop waits this long: a burst of commits (a registration burst wakes it
#: after each, ~100 a second) makes one round of the loop, not one per commit.
WAKE_SETTLE = 0.05
WAKE_BATCH = 8  # outcomes waiting before a worker wakes the loop (sooner when it runs dry)
POLL_EMBEDDED = 1.0  # seconds between looks when nothing woke an in-process dispatcher
POLL_EXTERNAL = 0.25  # a dispatcher process is woken by nobody: it looks more often


def mode(app: Flask) -> str:
    """`embedded` or `external` (PORTAL_WEBHOOK_DISPATCHER); anything else stops the start."""
    return choice(app.config, "WEBHOOK_DISPATCHER", (EMBEDDED, EXTERNAL), f"use {EMBEDDED!r} (web processes "
                  f"deliver webhooks, the default) or {EXTERNAL!r} (run `flask --app wsgi portal dispatcher`)")


class Dispatcher:
    """One dispatcher of one app in this process: the loop and its workers."""

    def __init__(self, app: Flask, *, workers: int = WORKERS, timeout: float = delivery.TIMEOUT_SECONDS,
                 poll: float = POLL_EMBEDDED) -> None:
        self.app = app
        self.workers = workers
        self.timeout = timeout
        self._loop = Loop("webhook-dispatcher", self.step, interval=poll, final=self._final, settle=WAKE_SETTLE)
        self._jobs: queue.Queue[Job | None] = queue.Queue()
        self._results: queue.Queue[tuple[Job, Outcome]] = queue.Queue()
        self._draining = threading.Event()
        self._unstarted: list[int] = []
        self._inflight: dict[int, int] = {}
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._client: httpx.Client | None = None
        self._atexit = False

    @property
    def enabled(self) -> bool:
        """Does this app run a dispatcher in its web processes?"""
        if mode(self.app) != EMBEDDED:
            return False
        return not self.app.testing or bool(self.app.config.get("WEBHOOK_DISPATCHER_THREAD"))

    @property
    def running(self) -> bool:
        return self._loop.running

    def ensure_started(self) -> None:
        """Start once per process when enabled (cheap when running): the embedded default."""
        if not self.running and self.enabled:
            self.start()

    def wake(self, *_args: Any, **_kwargs: Any) -> None:
        self._loop.wake()

    def start(self) -> None:
        with self._lock:
            if self.running:
                return
            self._jobs, self._results = queue.Queue(), queue.Queue()
            self._draining = threading.Event()
            self._inflight, self._unstarted = {}, []
            self._client = delivery.new_client()  # a forked child must not share the parent's sockets
            self._threads = [threading.Thread(target=self._work, name=f"webhook-worker-{i}", daemon=True)
                             for i in range(self.workers)]
            for thread in self._threads:
                thread.start()
            self._loop.start(self.app)
            if not self._atexit:  # after the loop's own: at exit this drains first (LIFO)
                atexit.register(self.stop)
                self._atexit = True

    def stop(self, timeout: float = 5.0) -> None:
        """Stop claiming, let the attempts in flight end (up to `timeout`), record them and hand
        the claimed but unstarted deliveries back. An attempt still running then is not
        recorded: its claim lapses and it is attempted again (same webhook-id)."""
        if not self.running:
            return
        deadline = time.monotonic() + timeout
        self._draining.set()
        while True:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                break
            if job is not None:
                self._unstarted.append(job.delivery_id)
        for _ in self._threads:
            self._jobs.put(None)
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(max(0.0, deadline - time.monotonic()))
        self._loop.stop(max(1.0, deadline - time.monotonic()))
        self._threads = []
        if self._client is not None:
            self._client.close()
            self._client = None

    def run_forever(self) -> None:
        """The CLI: run in this thread until interrupted (Ctrl-C or SIGTERM: attempts in flight
        end first)."""
        stopping = threading.Event()
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, lambda *_args: stopping.set())
        self.start()
        try:
            while not stopping.wait(1.0):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            self.stop(timeout=self.timeout + 1)

    # -- the loop's round ------------------------------------------------------------------
    def step(self) -> bool:
        """One round in one transaction; True if it did work (the loop goes on at once)."""
        results = self._take_results()
        draining = self._draining.is_set()
        if not results and (draining or not delivery.pending()):
            return False
        picked: list[Job] = []
        try:
            delivery.record(results)
            read = 0 if draining else delivery.fan_out()
            if not draining:
                picked, extra = self._claim()
                if extra:
                    delivery.release(extra)
            db.session.commit()
        except Exception:
            if results:
                log.error("%s webhook outcomes not recorded; their claims will lapse", len(results))
            for job in picked:  # their claims were rolled back: not in flight after all
                self._done(job)
            raise
        for job in picked:
            self._jobs.put(job)
        return bool(results or read or picked)

    def _claim(self) -> tuple[list[Job], list[int]]:
        """Claim what the workers can take; (jobs counted in flight, delivery ids to hand back:
        more than an endpoint's share)."""
        with self._lock:
            free = 2 * self.workers - sum(self._inflight.values())
            full = frozenset(e for e, n in self._inflight.items() if n >= PER_ENDPOINT)
        jobs = delivery.claim(free, exclude=full) if free > 0 else []
        picked: list[Job] = []
        extra: list[int] = []
        with self._lock:
            for job in jobs:
                n = self._inflight.get(job.endpoint_id, 0)
                if n >= PER_ENDPOINT:
                    extra.append(job.delivery_id)
                    continue
                self._inflight[job.endpoint_id] = n + 1
                picked.append(job)
        return picked, extra

    def _done(self, job: Job) -> None:
        with self._lock:
            left = self._inflight.get(job.endpoint_id, 1) - 1
            if left > 0:
                self._inflight[job.endpoint_id] = left
            else:
                self._inflight.pop(job.endpoint_id, None)

    def _take_results(self) -> list[tuple[Job, Outcome]]:
        results: list[tuple[Job, Outcome]] = []
        while len(results) < RECORD_BATCH:
            try:
                results.append(self._results.get_nowait())
            except queue.Empty:
                break
        return results

    def _final(self) -> None:
        """At stop: record what came back and hand the unstarted claims back at once."""
        results = self._take_results()
        delivery.record(results)
        if self._unstarted:
            delivery.release(self._unstarted)
            self._unstarted = []
        db.session.commit()

    def _work(self) -> None:
        """Attempt claimed deliveries (no database work: the loop records the outcomes)."""
        client = self._client
        assert client is not None
        with self.app.app_context():  # the URL check reads the config
            while True:
                job = self._jobs.get()
                if job is None:
                    break
                try:
                    outcome = delivery.attempt(job, client=client, timeout=self.timeout)
                except Exception as error:  # never lose the outcome of a claim
                    log.exception("webhook delivery %s failed", job.delivery_id)
                    outcome = Outcome(error=f"{type(error).__name__}: {error}"[:300], attempted_at=utcnow(),
                                      timestamp=int(time.time()))
                self._results.put((job, outcome))
                self._done(job)
                if self._results.qsize() >= WAKE_BATCH or self._jobs.empty():
                    self._loop.wake()


def init_app(app: Flask) -> Dispatcher:
    dispatcher = app.extensions[EXTENSION] = Dispatcher(app)
    if dispatcher.enabled:
        signals.connect(app, signals.event_committed, dispatcher.wake)
        app.before_request(dispatcher.ensure_started)
    return dispatcher


def external(app: Flask, *, workers: int = WORKERS) -> Dispatcher:
    """A dispatcher for `flask portal dispatcher` (a process of its own: it polls more often)."""
    return Dispatcher(app, workers=workers, poll=POLL_EXTERNAL)


def current(app: Flask | None = None) -> Dispatcher:
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    return app.extensions[EXTENSION]


def shutdown(app: Flask) -> None:
    dispatcher = app.extensions.get(EXTENSION)
    if dispatcher is not None:
        dispatcher.stop()
