"""Template helpers shared by every domain (time filters come from portal.timefmt)."""
from __future__ import annotations

from flask import Flask, current_app

from portal import timefmt


def has_endpoint(name: str) -> bool:
    return name in current_app.view_functions


def init_app(app: Flask) -> None:
    app.jinja_env.globals["has_endpoint"] = has_endpoint
    app.jinja_env.filters.update(
        in_zone=timefmt.in_zone,  # |in_zone(webinar.timezone) -> aware datetime
        iso_utc=timefmt.iso_utc,  # datetime attributes and data-* for scripts
        wall_time=timefmt.wall_time,  # "2026-05-20 18:30" (|wall_time(webinar.timezone))
        time_of_day=timefmt.time_of_day,  # "18:30" (|time_of_day(webinar.timezone))
        clock=timefmt.clock,  # 4:05 / 1:02:03
        event_time=timefmt.event_time,  # "Sun, Nov 22, 2026, 7:00 PM" in the event's zone
        utc_fallback=timefmt.utc_fallback,  # <time data-local-time> text without JavaScript
    )
