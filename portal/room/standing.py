"""Who in a webinar's room may still take part, cached per webinar for a moment.

For high-rate socket frames (reaction taps, player reports: up to a thousand a second in one
room) a query per frame would make the database the room's bottleneck. One read per webinar
every STANDING_TTL seconds answers instead: the webinar's status, the registrations that lost
access (banned, revoked, cancelled) and the muted ones. A moderation change made in this
process clears its webinar at once; another process sees it within STANDING_TTL seconds (a ban
or revoke also closes the lead's sockets in every process at once). Chat and other writes
keep checking the fresh row.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app
from sqlalchemy import or_, select

from portal import signals
from portal.core.models import Webinar
from portal.extensions import db
from portal.registration.models import Registration

EXTENSION = "portal.room.standing"
STANDING_TTL = 2.0  # seconds


@dataclass(frozen=True, slots=True)
class Standing:
    """A webinar's room as of one read."""

    status: str
    barred: frozenset[int]  # registration ids without access
    muted: frozenset[int]  # registration ids muted by a moderator


class Standings:
    """webinar id -> (Standing, monotonic time read), for one app."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cache: dict[int, tuple[Standing | None, float]] = {}

    def get(self, webinar_id: int) -> Standing | None:
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(webinar_id)
        if cached is not None and now - cached[1] < STANDING_TTL:
            return cached[0]
        standing = _read(webinar_id)
        with self._lock:
            self._cache[webinar_id] = (standing, now)
        return standing

    def clear(self, webinar_id: int) -> None:
        with self._lock:
            self._cache.pop(webinar_id, None)


def init_app(app: Flask) -> None:
    standings = app.extensions[EXTENSION] = Standings()

    def moderated(webinar_id: int, **_: Any) -> None:
        standings.clear(webinar_id)

    signals.connect(app, signals.moderation_changed, moderated)


def of(webinar_id: int) -> Standing | None:
    """The room's standing (None: no such webinar), at most STANDING_TTL seconds old."""
    return current_app.extensions[EXTENSION].get(webinar_id)


def _read(webinar_id: int) -> Standing | None:
    status = db.session.scalar(select(Webinar.status).where(Webinar.webinar_id == webinar_id))
    if status is None:
        return None
    rows = db.session.execute(
        select(Registration.registration_id, Registration.chat_muted_at.is_not(None),
               or_(Registration.banned_at.is_not(None), Registration.revoked_at.is_not(None),
                   Registration.cancelled_at.is_not(None)))
        .where(Registration.webinar_id == webinar_id,
               or_(Registration.chat_muted_at.is_not(None), Registration.banned_at.is_not(None),
                   Registration.revoked_at.is_not(None), Registration.cancelled_at.is_not(None)))).all()
    return Standing(status, frozenset(r for r, _, barred in rows if barred),
                    frozenset(r for r, muted, _ in rows if muted))
