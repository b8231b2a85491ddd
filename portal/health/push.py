"""The health panel to the console, at most once a second per webinar, summed over workers.

Choice for several workers (Redis broker): each worker keeps its own attendees' reports
(board.py) and, once a second, puts its counts for each webinar into the pool shared by the
workers (one hash per webinar, one field per worker, with the time it was written). The one
worker that leads the second (`pool.lead`) sums the fields written in the last ENTRY_TTL
seconds and publishes the panel to the console channel when the sum changed since it last
published. So 5,000 pages reporting every 5 s cost the console at most one frame a second,
and a worker that died stops counting within ENTRY_TTL seconds.
"""
from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

from flask import Flask, current_app

from portal import realtime
from portal.health import fragments
from portal.health.board import ENTRY_TTL, FIELDS, Board
from portal.room.access import registrations_opening
from portal.room.channels import console_channel
from portal.room.push import per_language

EXTENSION = "portal.health"
PANEL_MS = 1000  # one console frame per webinar per second, across workers
REFRESH_SECONDS = 5.0  # a worker re-writes unchanged counts this often (they expire in the pool)


@dataclass
class Health:
    """One app's health state in this process."""

    board: Board
    ticker: realtime.Ticker
    worker: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    written: dict[int, tuple[tuple[int, ...], float]] = field(default_factory=dict)  # webinar -> (counts, when)
    published: dict[int, tuple[int, ...]] = field(default_factory=dict)  # webinar -> counts last published


def init_app(app: Flask) -> None:
    app.extensions[EXTENSION] = Health(
        Board(), realtime.Ticker(app, "health", lambda: tick(app), interval=float(app.config["HEALTH_TICK_SECONDS"])))


def state(app: Flask | None = None) -> Health:
    return (app or current_app).extensions[EXTENSION]


def shutdown(app: Flask) -> None:
    health = app.extensions.get(EXTENSION)
    if health is not None:
        health.ticker.stop()


def _key(webinar_id: int) -> str:
    return f"health:{webinar_id}"


def resolve_polled(app: Flask | None = None) -> None:
    """Keep the polled reports of the last second whose links open the room (a query per 500 tokens)."""
    board = state(app).board
    polled = board.take_polled()
    if not polled:
        return
    for token, reg in registrations_opening(polled).items():
        report, at = polled[token]
        board.note(reg.webinar_id, reg.registration_id, report, via="polling", at=at)


def tick(app: Flask) -> None:
    """One second of this worker: keep the polled reports, pool its counts; publish the panels it leads."""
    resolve_polled(app)
    health, pool, now = state(app), realtime.pool(app), time.time()
    for webinar_id in health.board.webinars():
        counts = tuple(health.board.summary(webinar_id, now=now)[name] for name in FIELDS)
        last = health.written.get(webinar_id)
        if last is None or last[0] != counts or now - last[1] >= REFRESH_SECONDS:
            pool.put(_key(webinar_id), health.worker, json.dumps({"counts": counts, "at": now}))
            health.written[webinar_id] = (counts, now)
        if not any(counts):
            health.board.forget(webinar_id)
        if pool.lead(_key(webinar_id), ms=PANEL_MS):
            total = summed(webinar_id, now=now)
            mine = tuple(total[name] for name in FIELDS)
            if health.published.get(webinar_id) != mine:
                health.published[webinar_id] = mine
                publish(webinar_id, total)


def summed(webinar_id: int, *, now: float | None = None, app: Flask | None = None) -> Counter[str]:
    """Every worker's counts for a webinar, written in the last ENTRY_TTL seconds, added up."""
    now = time.time() if now is None else now
    total: Counter[str] = Counter({name: 0 for name in FIELDS})
    for value in realtime.pool(app or current_app).members(_key(webinar_id)).values():
        try:
            snapshot = json.loads(value)
            if now - float(snapshot["at"]) > ENTRY_TTL:
                continue
            total.update(dict(zip(FIELDS, (int(n) for n in snapshot["counts"]), strict=True)))
        except (ValueError, KeyError, TypeError):
            continue  # another version's format, or damaged: not counted
    return total


def publish(webinar_id: int, counts: Counter[str]) -> None:
    with realtime.ordered(console_channel(webinar_id)):
        realtime.publish(console_channel(webinar_id),
                         per_language(lambda lang: fragments.panel(counts, oob=True, lang=lang)))
