"""portal.timefmt: the one place times and durations become text."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from portal import timefmt

MOMENT = datetime(2026, 5, 20, 16, 30, 5, 123456, tzinfo=UTC)


@pytest.mark.parametrize("seconds,hours,text", [
    (0, False, "0:00"), (65, False, "1:05"), (3723, False, "1:02:03"), (-4, False, "0:00"),
    (65, True, "0:01:05"), (3723.9, True, "1:02:03"), (None, False, ""),
])
def test_clock(seconds, hours, text):
    assert timefmt.clock(seconds, hours=hours) == text


def test_iso_utc():
    assert timefmt.iso_utc(MOMENT) == "2026-05-20T16:30:05.123456Z"
    assert timefmt.iso_utc(MOMENT, seconds=True) == "2026-05-20T16:30:05Z"
    assert timefmt.iso_utc(MOMENT.astimezone(timezone(timedelta(hours=3)))) == "2026-05-20T16:30:05.123456Z"
    assert timefmt.iso_utc(MOMENT.replace(tzinfo=None), seconds=True) == "2026-05-20T16:30:05Z"
    assert timefmt.iso_utc(None) is None


def test_wall_time_in_a_zone():
    assert timefmt.wall_time(MOMENT) == "2026-05-20 16:30"
    assert timefmt.wall_time(MOMENT, "Europe/Berlin") == "2026-05-20 18:30"
    assert timefmt.wall_time(MOMENT, seconds=True) == "2026-05-20 16:30:05"
    assert timefmt.wall_time(MOMENT, "Not/AZone") == "2026-05-20 16:30"
    assert timefmt.wall_time(None) == ""
    assert timefmt.time_of_day(MOMENT, "Europe/Moscow") == "19:30" and timefmt.time_of_day(None) == ""


def test_event_time_in_the_viewers_language():
    english = timefmt.event_time(MOMENT, "Europe/Berlin", locale="en").replace("\u202f", " ")
    assert english == "Wed, May 20, 2026, 6:30 PM"
    assert timefmt.event_time(MOMENT, "Europe/Moscow", locale="ru").endswith("19:30")
