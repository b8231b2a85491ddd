"""Where a viewer stands, per webinar type: a per-app registry filled by the type's package.

Live webinars need nothing (one cohort, the host opens and closes). `portal.autowebinar`
registers "auto": the viewer's cohort (the start they chose, or their own watch-now session)
and their point in the recording, which decides when a timed poll takes their answer.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from flask import Flask, current_app

from portal.core.models import Webinar
from portal.registration.models import Registration

EXTENSION = "portal.polls.timing"
LIVE_COHORT = ""
WATCH_NOW = "watch:"  # + session: a watch-now viewer's own cohort (auto webinars)


@dataclass(frozen=True)
class Viewer:
    """Whose results a viewer's answer counts in, and where they are in the recording."""

    cohort: str = LIVE_COHORT
    position: float | None = None  # seconds into the recording (None: not watching / live)


Locate = Callable[[Registration, Webinar, datetime], Viewer]


def init_app(app: Flask) -> None:
    app.extensions[EXTENSION] = {}


def register(app: Flask, type_: str, locate: Locate) -> None:
    """Give webinars of `type_` their viewer rule (called by the type's package in its init_app)."""
    app.extensions[EXTENSION][type_] = locate


def viewer(reg: Registration, webinar: Webinar, *, now: datetime) -> Viewer:
    locate = current_app.extensions[EXTENSION].get(webinar.type)
    return Viewer() if locate is None else locate(reg, webinar, now)
