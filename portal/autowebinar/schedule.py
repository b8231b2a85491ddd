"""Evergreen schedules of auto webinars: the `auto_schedule` JSON, its validation and the start
times offered at registration. Pure functions (no Flask); `now` is always passed in.

Format (all keys but `kind` optional)::

    {"kind": "on_demand" | "every" | "daily" | "weekly",
     "watch_now": true,              # also offer "watch now" (forced on for on_demand)
     "every_minutes": 15,            # every: 1..1440, aligned to the local clock (see below)
     "times": ["09:00", "18:30"],    # daily / weekly: local wall-clock times
     "weekdays": [0, 2, 4],          # weekly: 0 = Monday ... 6 = Sunday
     "timezone": "Europe/Berlin",    # IANA zone of times/alignment/blackouts; default: the webinar's
     "blackout_dates": ["2026-12-24"],  # local dates with no start at all (watch now included)
     "horizon": 4}                   # how many scheduled start times to offer (1..50)

Decisions:
- "every N minutes" offers the instants whose local wall clock (in `timezone`) reads a multiple
  of N minutes after local midnight (N=15 -> :00 :15 :30 :45). A repeated hour when clocks go
  back yields both instants (they are different moments); the skipped hour yields nothing.
- daily/weekly times that fall in a skipped hour (spring forward) move forward by the gap
  (02:30 -> 03:30), like calendar apps; a time in a repeated hour is offered once, at its first
  occurrence.
- "watch now" is offered only while the evergreen is open (webinar status `live`) and the
  current local date is not blacked out. `horizon` counts scheduled times, not "watch now".
- "now" resolves to the current instant with a non-zero sub-second part, while scheduled
  starts are whole seconds: `is_watch_now_start(reg.starts_at)` tells them apart later.
- A value offered a moment ago stays acceptable for GRACE (a visitor submitting a just-passed
  slot lands a few seconds into the stream, like a late joiner).
"""
from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from portal import timefmt
from portal.errors import Invalid

log = logging.getLogger(__name__)

KINDS = ("on_demand", "every", "daily", "weekly")
KEYS = frozenset({"kind", "watch_now", "every_minutes", "times", "weekdays", "timezone",
                  "blackout_dates", "horizon"})
DEFAULT_HORIZON = 4
MAX_HORIZON = 50
MAX_TIMES = 48
MAX_BLACKOUTS = 400
SEARCH_DAYS = 800  # how far ahead to look for non-blacked-out days
GRACE = timedelta(minutes=2)
NOW = "now"
UTC = UTC
_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


@dataclass(frozen=True)
class StartOption:
    """One start the registration form offers: "now" or an ISO-8601 UTC instant."""

    value: str
    starts_at: datetime
    label_kind: str  # "now" | "time"


@dataclass(frozen=True)
class Schedule:
    """A validated schedule, ready for computing starts."""

    kind: str
    watch_now: bool
    zone: ZoneInfo
    horizon: int
    every_minutes: int = 0
    times: tuple[time, ...] = ()
    weekdays: frozenset[int] = frozenset()
    blackout: frozenset[date] = frozenset()


# --- validation ------------------------------------------------------------------------------

def _fail(field: str, message: str, **params: Any) -> Invalid:
    """Invalid for one setting; `message` is an English msgid (translated where shown)."""
    return Invalid(message, details={"field": field}, **params)


def _items(value: Any, field: str) -> list[Any]:
    """A list, or a comma/space separated string (what an admin form field sends)."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [part for part in re.split(r"[\s,;]+", value.strip()) if part]
    if isinstance(value, (list, tuple)):
        return list(value)
    raise _fail(field, "Expected a list.")


def _int(value: Any, field: str, lo: int, hi: int) -> int:
    if isinstance(value, bool):
        raise _fail(field, "Enter a whole number.")
    if isinstance(value, str) and re.fullmatch(r"\s*\d{1,6}\s*", value):
        value = int(value)
    if not isinstance(value, int):
        raise _fail(field, "Enter a whole number.")
    if not lo <= value <= hi:
        raise _fail(field, "Enter a number between %(lo)s and %(hi)s.", lo=lo, hi=hi)
    return value


def _bool(value: Any, field: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in {"1", "true", "on", "yes", "0", "false", "off", "no", ""}:
        return value.strip().lower() in {"1", "true", "on", "yes"}
    if value in (0, 1):
        return bool(value)
    raise _fail(field, "Expected yes or no.")


def zone_named(name: Any, *, field: str = "timezone") -> ZoneInfo:
    """The IANA zone called `name`, or Invalid."""
    if not isinstance(name, str) or not name.strip() or len(name) > 64:
        raise _fail(field, "Enter a time zone name such as Europe/Berlin.")
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise _fail(field, "Unknown time zone %(name)s.", name=str(name)[:64]) from None


def _times(value: Any) -> tuple[time, ...]:
    out: set[time] = set()
    items = _items(value, "times")
    if len(items) > MAX_TIMES:
        raise _fail("times", "At most %(max)s start times a day.", max=MAX_TIMES)
    for item in items:
        match = _HHMM.match(item) if isinstance(item, str) else None
        if not match:
            raise _fail("times", "%(value)s is not a time like 09:30.", value=str(item)[:20])
        out.add(time(int(match.group(1)), int(match.group(2))))
    if not out:
        raise _fail("times", "Give at least one start time (HH:MM).")
    return tuple(sorted(out))


def _weekdays(value: Any) -> frozenset[int]:
    days = frozenset(_int(d, "weekdays", 0, 6) for d in _items(value, "weekdays"))
    if not days:
        raise _fail("weekdays", "Pick at least one day of the week.")
    return days


def _blackouts(value: Any) -> frozenset[date]:
    items = _items(value, "blackout_dates")
    if len(items) > MAX_BLACKOUTS:
        raise _fail("blackout_dates", "At most %(max)s blackout dates.", max=MAX_BLACKOUTS)
    out: set[date] = set()
    for item in items:
        try:
            if not isinstance(item, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", item):
                raise ValueError
            out.add(date.fromisoformat(item))
        except ValueError:
            raise _fail("blackout_dates", "%(value)s is not a date like 2026-12-24.", value=str(item)[:20]) from None
    return frozenset(out)


def parse_schedule(data: Any, *, default_zone: str = "UTC") -> Schedule:
    """Validate `auto_schedule` (a dict or its JSON text) into a Schedule, or raise Invalid."""
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except ValueError:
            raise _fail("auto_schedule", "The schedule is not valid JSON.") from None
    if not isinstance(data, Mapping):
        raise _fail("auto_schedule", "The schedule must be an object of settings.")
    unknown = sorted(set(data) - KEYS)
    if unknown:
        raise _fail(str(unknown[0]), "Unknown schedule setting %(name)s.", name=str(unknown[0])[:40])
    kind = data.get("kind")
    if kind not in KINDS:
        raise _fail("kind", "Choose on demand, every N minutes, daily or weekly.")
    zone_name = data.get("timezone") or default_zone
    schedule = Schedule(
        kind=kind,
        watch_now=_bool(data.get("watch_now", False), "watch_now") or kind == "on_demand",
        zone=zone_named(zone_name),
        horizon=_int(data.get("horizon", DEFAULT_HORIZON), "horizon", 1, MAX_HORIZON),
        every_minutes=_int(data.get("every_minutes"), "every_minutes", 1, 1440) if kind == "every" else 0,
        times=_times(data.get("times")) if kind in ("daily", "weekly") else (),
        weekdays=_weekdays(data.get("weekdays")) if kind == "weekly" else frozenset(),
        blackout=_blackouts(data.get("blackout_dates")),
    )
    return schedule


def to_json(schedule: Schedule, *, with_zone: bool = True) -> dict[str, Any]:
    """The normalised JSON form of a schedule (only the keys its kind uses)."""
    out: dict[str, Any] = {"kind": schedule.kind, "watch_now": schedule.watch_now, "horizon": schedule.horizon}
    if with_zone:
        out["timezone"] = schedule.zone.key
    if schedule.kind == "every":
        out["every_minutes"] = schedule.every_minutes
    if schedule.kind in ("daily", "weekly"):
        out["times"] = [t.strftime("%H:%M") for t in schedule.times]
    if schedule.kind == "weekly":
        out["weekdays"] = sorted(schedule.weekdays)
    if schedule.blackout:
        out["blackout_dates"] = sorted(d.isoformat() for d in schedule.blackout)
    return out


def validate_schedule(data: Any) -> dict[str, Any]:
    """Validate admin input (dict or JSON text) and return the normalised dict to store.

    Raises Invalid whose details["field"] names the offending setting. Lists may be given as
    comma-separated strings and numbers as digit strings (what HTML forms send). When no
    timezone is given, none is stored and the webinar's own timezone applies.
    """
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except ValueError:
            raise _fail("auto_schedule", "The schedule is not valid JSON.") from None
    schedule = parse_schedule(data)
    return to_json(schedule, with_zone=bool(isinstance(data, Mapping) and data.get("timezone")))


def schedule_of(webinar: Any) -> Schedule | None:
    """The webinar's schedule, or None when it is not an auto webinar or its JSON is broken."""
    if getattr(webinar, "type", None) != "auto" or not webinar.auto_schedule:
        return None
    try:
        return parse_schedule(webinar.auto_schedule, default_zone=getattr(webinar, "timezone", None) or "UTC")
    except Invalid as error:
        log.warning("webinar %s has an invalid auto_schedule: %s", getattr(webinar, "webinar_id", "?"), error)
        return None


# --- computing starts ------------------------------------------------------------------------

def _aware_utc(now: datetime) -> datetime:
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    return now.astimezone(UTC)


def _exists(naive: datetime, aware: datetime, zone: ZoneInfo) -> bool:
    """Does this wall-clock reading really occur (it is not in a spring-forward gap)?"""
    return aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == naive


def _day_starts(schedule: Schedule, day: date, *, from_minute: int = 0) -> list[datetime]:
    """The UTC instants of one local day's starts, ascending (blackouts not applied)."""
    zone, found = schedule.zone, set()
    if schedule.kind == "every":
        step = schedule.every_minutes
        midnight = datetime.combine(day, time())
        for minute in range(from_minute - from_minute % step, 1440, step):
            naive = midnight + timedelta(minutes=minute)
            first, second = naive.replace(tzinfo=zone), naive.replace(tzinfo=zone, fold=1)
            if first.utcoffset() == second.utcoffset():  # the usual case: one moment
                found.add(first.astimezone(UTC))
                continue
            for aware in (first, second):  # a repeated hour has two moments, a gap none
                if _exists(naive, aware, zone):
                    found.add(aware.astimezone(UTC))
    elif schedule.kind in ("daily", "weekly"):
        if schedule.kind == "weekly" and day.weekday() not in schedule.weekdays:
            return []
        for t in schedule.times:
            # fold=0: the first of a repeated time; a skipped time maps forward by the gap.
            found.add(datetime.combine(day, t, tzinfo=zone).astimezone(UTC))
    return sorted(found)


def scheduled_starts(schedule: Schedule, *, after: datetime) -> Iterator[datetime]:
    """Scheduled (non-"now") starts strictly after `after`, ascending, outside blackouts."""
    after = _aware_utc(after)
    if schedule.kind == "on_demand":
        return
    local_now = after.astimezone(schedule.zone)
    # Start a day early: around a DST change at midnight a later instant can still carry
    # the previous local date.
    first_day = local_now.date() - timedelta(days=1)
    for offset in range(SEARCH_DAYS):
        day = first_day + timedelta(days=offset)
        if day in schedule.blackout:
            continue
        # Skip most of the minutes already past (the 3 h margin covers any offset change).
        past = {0: 1440, 1: local_now.hour * 60 + local_now.minute}.get(offset, 0)
        for start in _day_starts(schedule, day, from_minute=max(0, past - 180)):
            if start > after:
                yield start


def watch_now_open(webinar: Any, schedule: Schedule, *, now: datetime) -> bool:
    """Is "watch now" available: offered by the schedule, evergreen open, not a blackout day?"""
    return (
        schedule.watch_now
        and getattr(webinar, "status", None) == "live"
        and _aware_utc(now).astimezone(schedule.zone).date() not in schedule.blackout
    )


def iso_utc(moment: datetime) -> str:
    """The option value of an instant: ISO-8601 in UTC with a Z, to the second."""
    return timefmt.iso_utc(_aware_utc(moment), seconds=True) or ""


def _closed(webinar: Any) -> bool:
    return getattr(webinar, "status", None) in ("finished", "archived")


def offered_starts(webinar: Any, *, now: datetime) -> list[StartOption]:
    """The start options registration offers now: "watch now" first (when open), then up to
    `horizon` scheduled times. Empty for live webinars, closed evergreens or broken schedules."""
    now = _aware_utc(now)
    schedule = schedule_of(webinar)
    if schedule is None or _closed(webinar):
        return []
    options: list[StartOption] = []
    if watch_now_open(webinar, schedule, now=now):
        options.append(StartOption(NOW, now, "now"))
    for start in _take(scheduled_starts(schedule, after=now), schedule.horizon):
        options.append(StartOption(iso_utc(start), start, "time"))
    return options


def _take(items: Iterable[datetime], n: int) -> list[datetime]:
    out: list[datetime] = []
    for item in items:
        if len(out) >= n:
            break
        out.append(item)
    return out


def parse_value(value: Any) -> datetime:
    """An option value (ISO-8601 with a zone) as an aware UTC datetime, or Invalid."""
    if not isinstance(value, str) or not 10 <= len(value) <= 40:
        raise _fail("slot_id", "Pick one of the offered start times.")
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise _fail("slot_id", "Pick one of the offered start times.") from None
    if moment.tzinfo is None:
        raise _fail("slot_id", "Pick one of the offered start times.")
    return moment.astimezone(UTC)


def is_watch_now_start(starts_at: datetime | None) -> bool:
    """Was this registration start a "watch now" choice (or none at all)? Its session then
    starts when the attendee first enters, not when they registered."""
    return starts_at is None or starts_at.microsecond != 0


def resolve_start(webinar: Any, value: Any, *, now: datetime) -> datetime:
    """The start instant a registration chose with `value`, which must be offered now (or have
    been offered within GRACE). "now" resolves to `now`. Raises Invalid otherwise."""
    now = _aware_utc(now)
    schedule = schedule_of(webinar)
    if schedule is None or _closed(webinar):
        raise _fail("slot_id", "This webinar offers no start times right now.")
    if value == NOW:
        if watch_now_open(webinar, schedule, now=now):
            # Scheduled starts are whole seconds; "now" never is, so a stored start tells
            # which kind it was (see is_watch_now_start).
            return now if now.microsecond else now + timedelta(microseconds=1)
        raise _fail("slot_id", "Watching now is not available; pick one of the offered times.")
    moment = parse_value(value)
    if moment.replace(microsecond=0) != moment:
        raise _fail("slot_id", "Pick one of the offered start times.")
    current = _take(scheduled_starts(schedule, after=now), schedule.horizon)
    if moment in current:
        return moment
    if now - GRACE <= moment <= now and moment in _take(scheduled_starts(schedule, after=now - GRACE),
                                                         schedule.horizon):
        return moment
    raise _fail("slot_id", "That start time is no longer offered; pick another one.")
