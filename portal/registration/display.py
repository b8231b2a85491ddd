"""How registration pages show times and links (template filters, absolute URLs)."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from babel import dates
from flask import Flask, current_app, request
from flask_babel import get_locale


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def event_time(moment: datetime | None, zone: str | None = "UTC") -> str:
    """A start time as read in the event's zone, e.g. "Sun, Nov 22, 2026, 7:00 PM"."""
    if moment is None:
        return ""
    local, locale = moment.astimezone(_zone(zone)), get_locale() or "en"
    day = dates.format_skeleton("yMMMEd", local, tzinfo=local.tzinfo, locale=locale)
    return f"{day}, {dates.format_time(local, 'short', tzinfo=local.tzinfo, locale=locale)}"


def utc_fallback(moment: datetime | None) -> str:
    """What <time data-local-time> shows before (or without) JavaScript."""
    return event_time(moment, "UTC") + " UTC" if moment is not None else ""


def base_url() -> str:
    """The site's origin for absolute links: PORTAL_BASE_URL when set, else this request's."""
    return (current_app.config.get("BASE_URL") or request.host_url).rstrip("/")


def join_url(token: str) -> str:
    """The personal join link, /room/<token> (SPEC §8)."""
    return f"{base_url()}/room/{token}"


def site_host() -> str:
    """The host name used in calendar UIDs."""
    from urllib.parse import urlsplit

    return urlsplit(base_url()).hostname or "localhost"


def init_app(app: Flask) -> None:
    app.jinja_env.filters.setdefault("event_time", event_time)
    app.jinja_env.filters.setdefault("utc_fallback", utc_fallback)
