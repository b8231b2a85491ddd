"""Pushes of polls to the room and console channels, after the commits portal.polls.service
announces (portal/signals.py):

- `poll_changed` (created, opened, closed, deleted): the room's and the console's poll
  regions, rendered once per language;
- `poll_answered`: results, coalesced per poll — at most one push per `interval` seconds per
  poll and process however many answer, carrying every cohort that changed, rendered once and
  shared by every socket. Watch-now cohorts (one viewer each) are not pushed: the voter's own
  answer returns their results.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Any

from flask import Flask

from portal import realtime, signals
from portal.core.models import Webinar
from portal.dbsession import fresh_session
from portal.extensions import db
from portal.polls import fragments
from portal.polls.models import Poll
from portal.polls.timing import WATCH_NOW, Viewer
from portal.room.channels import console_channel
from portal.room.push import Debouncer, per_language, publish_to_rooms

log = logging.getLogger(__name__)

EXTENSION = "portal.polls.push"
RESULTS_INTERVAL = 0.5  # seconds: at most two results frames per poll and second


class ResultsPusher:
    """poll_id -> the cohorts answered since its last push; one debounced flush per poll, and
    never two pushes of a poll closer than `interval` (a flush waits for its turn before it
    reads, so a slow render cannot bring the next push nearer)."""

    def __init__(self, interval: float = RESULTS_INTERVAL) -> None:
        self.interval = interval
        self._lock = threading.Lock()
        self._dirty: dict[int, tuple[int, set[str]]] = {}
        self._pushed: dict[int, float] = {}  # poll_id -> monotonic time of its last push
        self._turns: dict[int, threading.Lock] = {}  # one flush of a poll at a time
        self._debouncer = Debouncer()

    def answered(self, app: Flask, poll_id: int, *, webinar_id: int, cohort: str) -> None:
        with self._lock:
            self._dirty.setdefault(poll_id, (webinar_id, set()))[1].add(cohort)
        self._debouncer.call_soon(app, poll_id, self._flush, delay=self.interval)

    def _flush(self, app: Flask, poll_id: int) -> None:
        with self._lock:
            turn = self._turns.setdefault(poll_id, threading.Lock())
        with turn:
            wait = self._pushed.get(poll_id, 0.0) + self.interval - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            with self._lock:
                webinar_id, cohorts = self._dirty.pop(poll_id, (0, set()))
            if webinar_id:
                push_results(app, poll_id, webinar_id=webinar_id, cohorts=cohorts)
                self._pushed[poll_id] = time.monotonic()

    def shutdown(self) -> None:
        self._debouncer.cancel_all()


def init_app(app: Flask) -> None:
    app.extensions[EXTENSION] = ResultsPusher()
    signals.connect(app, signals.poll_changed, on_poll_changed)
    signals.connect(app, signals.poll_answered, on_poll_answered)


def shutdown(app: Flask) -> None:
    app.extensions[EXTENSION].shutdown()


def on_poll_changed(poll_id: int, *, webinar_id: int, change: str, **_: Any) -> None:
    """A poll was prepared, opened, closed or deleted: both regions, in commit order."""
    with realtime.ordered(console_channel(webinar_id)), fresh_session():
        if (webinar := db.session.get(Webinar, webinar_id)) is not None:
            shown = webinar
            realtime.publish(console_channel(webinar_id), per_language(
                lambda lang: fragments.console_region(shown, oob=True, lang=lang)))
    if change == "created":  # a draft: attendees see nothing of it
        return
    with fresh_session():
        if (webinar := db.session.get(Webinar, webinar_id)) is not None:
            room = webinar  # every room channel: a live run's or an auto cohort's pages listen on their own
            publish_to_rooms(room, lambda: per_language(lambda lang: fragments.room_region(room, oob=True, lang=lang)))


def on_poll_answered(poll_id: int, *, app: Flask, webinar_id: int, cohort: str, **_: Any) -> None:
    app.extensions[EXTENSION].answered(app, poll_id, webinar_id=webinar_id, cohort=cohort)


def push_results(app: Flask, poll_id: int, *, webinar_id: int, cohorts: set[str]) -> None:
    """The poll's results now: to the console (all cohorts) and, where attendees may see
    them, to the room (each changed cohort's own)."""
    with fresh_session(app):
        poll = db.session.get(Poll, poll_id)
        if poll is None:
            return
        with realtime.ordered(console_channel(webinar_id)):
            realtime.publish(console_channel(webinar_id),
                             per_language(lambda lang: fragments.console_results(poll, lang=lang)))
        # A watch-now cohort is one viewer, who got the results with their answer.
        shown = sorted(c for c in cohorts if not c.startswith(WATCH_NOW))
        # A viewer known to no one: results shown to everyone (not only past a timed window).
        if not shown or not fragments.public_results(poll, Viewer()):
            return
        webinar = db.session.get(Webinar, webinar_id)
        if webinar is None:
            return
        publish_to_rooms(webinar, lambda: per_language(
            lambda lang: "".join(fragments.room_results(poll, c, lang=lang) for c in shown)))
