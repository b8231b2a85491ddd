"""Reaction bursts to the room and totals to the console, at most once a second per webinar.

Each worker's ticker (once a second): writes its tally to the minute's rows, adds it to the
pool shared by the workers (Redis when configured), and for each webinar tapped recently tries
to lead the second; the one worker that leads drains the pooled counts and publishes ONE burst
(the counts per reaction in that second, rendered once, outside the channel's order:
`realtime.publish_volatile`) and the console's totals. So a socket receives at most one
reaction frame a second, whatever the tap rate and however many workers took taps.
"""
from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

from flask import Flask, current_app

from portal import realtime
from portal.core import runs
from portal.core.models import Webinar
from portal.db_types import utcnow
from portal.dbsession import fresh_session
from portal.extensions import db
from portal.reactions import fragments, service
from portal.room import cohorts
from portal.room.channels import console_channel, room_channel
from portal.room.push import per_language

EXTENSION = "portal.reactions"
BURST_MS = 1000  # one burst per webinar per second, across workers
RECENT_SECONDS = 5.0  # a webinar tapped this recently is ticked for (pooled taps of other workers)


@dataclass
class Reactions:
    """One app's reactions in this process: the tally, the ticker, the webinars tapped lately."""

    tally: service.Tally
    ticker: realtime.Ticker
    recent: dict[int, float] = field(default_factory=dict)


def init_app(app: Flask) -> None:
    app.extensions[EXTENSION] = Reactions(
        service.Tally(), realtime.Ticker(app, "reactions", lambda: tick(app),
                                         interval=float(app.config["REACTIONS_TICK_SECONDS"])))


def state(app: Flask | None = None) -> Reactions:
    return (app or current_app).extensions[EXTENSION]


def shutdown(app: Flask) -> None:
    reactions = app.extensions.get(EXTENSION)
    if reactions is not None:
        reactions.ticker.stop()


def tick(app: Flask) -> None:
    """One second of this worker: record and pool its taps; publish the bursts it leads."""
    reactions, pool = state(app), realtime.pool(app)
    taken = reactions.tally.take()
    now = time.monotonic()
    if taken:
        service.record(taken, at=utcnow())
        for webinar_id, counts in taken.items():
            pool.add(f"reactions:{webinar_id}", counts)
            reactions.recent[webinar_id] = now
    for webinar_id, seen in list(reactions.recent.items()):
        if now - seen > RECENT_SECONDS:
            reactions.recent.pop(webinar_id, None)
        elif pool.lead(f"reactions:{webinar_id}", ms=BURST_MS):
            burst = Counter(pool.drain(f"reactions:{webinar_id}"))
            if +burst:
                publish(webinar_id, burst)


def _running_room(webinar_id: int) -> str:
    """The room channel of the run that is live (a webinar with several start times runs one
    at a time, each in its own channel; one start time: the webinar's own channel)."""
    with fresh_session():
        webinar = db.session.get(Webinar, webinar_id)
        session_id = runs.current_session_id(webinar) if webinar is not None else None
    return room_channel(webinar_id, cohorts.channel_key(webinar_id, session_id))


def publish(webinar_id: int, burst: Counter[str]) -> None:
    """The second's burst to the room (volatile, one variant for every language), the totals to
    the console."""
    realtime.publish_volatile(_running_room(webinar_id), fragments.burst(burst))
    with realtime.ordered(console_channel(webinar_id)):
        realtime.publish(console_channel(webinar_id),
                         per_language(lambda lang: fragments.console(webinar_id, oob=True, lang=lang)))
