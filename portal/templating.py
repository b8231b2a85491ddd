"""Template helpers shared by every domain."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Flask, current_app


def has_endpoint(name: str) -> bool:
    return name in current_app.view_functions


def in_zone(value: datetime | None, zone: str = "UTC") -> datetime | None:
    """A UTC datetime shown in a named time zone."""
    if value is None:
        return None
    try:
        return value.astimezone(ZoneInfo(zone))
    except (KeyError, ValueError):
        return value


def init_app(app: Flask) -> None:
    app.jinja_env.globals["has_endpoint"] = has_endpoint
    app.jinja_env.filters["in_zone"] = in_zone
