"""Every way the portal writes a time or a duration as text; templating.py exposes them as filters."""
from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from babel import dates
from flask_babel import get_locale

WALL = "%Y-%m-%d %H:%M"  # what organizers read and type (slot lines, the admin tables)


def zone(name: str | ZoneInfo | None) -> ZoneInfo:
    """The IANA zone `name`; UTC when it is empty or unknown (display must not fail)."""
    if isinstance(name, ZoneInfo):
        return name
    try:
        return ZoneInfo(name or "UTC")
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def in_zone(moment: datetime | None, name: str | ZoneInfo | None = "UTC") -> datetime | None:
    """A UTC datetime (naive ones are taken as UTC) as the wall-clock time of a named zone."""
    if moment is None:
        return None
    return _aware(moment).astimezone(zone(name))


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def iso_utc(moment: datetime | None, *, seconds: bool = False) -> str | None:
    """ISO-8601 in UTC with a "Z" (JSON, data attributes, user_meta); `seconds` drops the
    microseconds."""
    if moment is None:
        return None
    moment = _aware(moment).astimezone(UTC)
    if seconds:
        moment = moment.replace(microsecond=0)
    return moment.isoformat().replace("+00:00", "Z")


def wall_time(moment: datetime | None, name: str | ZoneInfo | None = "UTC", *, seconds: bool = False) -> str:
    """"2026-05-20 18:30" (":05" more with `seconds`) in a zone, UTC by default; "" for None."""
    local = in_zone(moment, name)
    if local is None:
        return ""
    return local.strftime(WALL + ":%S" if seconds else WALL)


def time_of_day(moment: datetime | None, name: str | ZoneInfo | None = "UTC") -> str:
    """"18:30" in a zone (chat times, "since 18:30"); "" for None."""
    local = in_zone(moment, name)
    return local.strftime("%H:%M") if local is not None else ""


def clock(seconds: float | None, *, hours: bool = False) -> str:
    """Seconds as a clock: 4:05, 1:02:03 past an hour; `hours` always shows them (0:04:05)."""
    if seconds is None:
        return ""
    whole, rest = divmod(max(int(seconds), 0), 3600)
    minutes, secs = divmod(rest, 60)
    if whole or hours:
        return f"{whole}:{minutes:02d}:{secs:02d}"
    return f"{minutes}:{secs:02d}"


def event_time(moment: datetime | None, name: str | None = "UTC", *, locale: str | None = None) -> str:
    """A start time as read in the event's zone, in the viewer's language
    ("Sun, Nov 22, 2026, 7:00 PM")."""
    if moment is None:
        return ""
    if locale is None:
        locale = str(get_locale() or "en")
    local = _aware(moment).astimezone(zone(name))
    day = dates.format_skeleton("yMMMEd", local, tzinfo=local.tzinfo, locale=locale)
    return f"{day}, {dates.format_time(local, 'short', tzinfo=local.tzinfo, locale=locale)}"


def utc_fallback(moment: datetime | None) -> str:
    """What <time data-local-time> shows before (or without) JavaScript."""
    return event_time(moment, "UTC") + " UTC" if moment is not None else ""
