"""Evergreen schedules: validation, offered starts (property-based, across DST), resolving a choice."""
from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal.autowebinar import schedule as S
from portal.errors import Invalid

UTC = UTC
ZONES = ["Europe/Berlin", "America/New_York", "UTC", "Asia/Kolkata", "Australia/Lord_Howe"]
# DST changes the generator should hit often (UTC instants).
TRANSITIONS = [
    datetime(2026, 3, 29, 1, 0, tzinfo=UTC),  # Berlin spring forward
    datetime(2026, 10, 25, 1, 0, tzinfo=UTC),  # Berlin fall back
    datetime(2026, 3, 8, 7, 0, tzinfo=UTC),  # New York spring forward
    datetime(2026, 11, 1, 6, 0, tzinfo=UTC),  # New York fall back
    datetime(2026, 4, 4, 15, 0, tzinfo=UTC),  # Lord Howe (30-minute change)
    datetime(2026, 10, 3, 15, 30, tzinfo=UTC),
]


def webinar(schedule: dict, *, status: str = "live", zone: str = "UTC") -> SimpleNamespace:
    return SimpleNamespace(webinar_id=1, type="auto", status=status, timezone=zone, auto_schedule=schedule)


def local(moment: datetime, zone: str) -> datetime:
    return moment.astimezone(ZoneInfo(zone))


def exists(day: date, t: time, zone: str) -> bool:
    naive = datetime.combine(day, t)
    return naive.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC).astimezone(ZoneInfo(zone)).replace(tzinfo=None) == naive


nows = st.one_of(
    st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)),
    st.builds(lambda base, minutes: base + timedelta(minutes=minutes),
              st.sampled_from(TRANSITIONS), st.integers(min_value=-36 * 60, max_value=36 * 60)),
)
hhmm = st.builds(lambda h, m: f"{h:02d}:{m:02d}", st.integers(0, 23), st.sampled_from([0, 15, 30, 45, 7, 59]))


@st.composite
def schedules(draw) -> dict:
    kind = draw(st.sampled_from(["every", "daily", "weekly"]))
    data: dict = {"kind": kind, "timezone": draw(st.sampled_from(ZONES)), "horizon": draw(st.integers(1, 8))}
    if kind == "every":
        data["every_minutes"] = draw(st.one_of(st.sampled_from([5, 10, 15, 30, 45, 60, 90, 1440]),
                                               st.integers(1, 1440)))
    else:
        data["times"] = draw(st.lists(hhmm, min_size=1, max_size=4))
    if kind == "weekly":
        data["weekdays"] = draw(st.lists(st.integers(0, 6), min_size=1, max_size=7))
    data["watch_now"] = draw(st.booleans())
    return data


@st.composite
def schedule_and_now(draw):
    data = draw(schedules())
    now = draw(nows)
    today = now.astimezone(ZoneInfo(data["timezone"])).date()
    blackout = draw(st.lists(st.integers(-1, 9), max_size=5))
    data["blackout_dates"] = [(today + timedelta(days=d)).isoformat() for d in blackout]
    return data, now


def check_aligned(data: dict, start: datetime) -> None:
    zone = data["timezone"]
    wall = local(start, zone)
    assert wall.second == 0 and wall.microsecond == 0
    assert wall.date().isoformat() not in data["blackout_dates"]
    if data["kind"] == "every":
        assert (wall.hour * 60 + wall.minute) % data["every_minutes"] == 0
        return
    if data["kind"] == "weekly":
        assert wall.weekday() in data["weekdays"]
    wanted = {time.fromisoformat(t) for t in data["times"]}
    if wall.time() in wanted:
        return
    # Otherwise it is a configured time that did not exist that day, moved forward by the gap.
    gap_free = [t for t in wanted if not exists(wall.date(), t, zone)]
    assert any(
        datetime.combine(wall.date(), t, tzinfo=ZoneInfo(zone)).astimezone(UTC) == start for t in gap_free
    ), (start, wall)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schedule_and_now())
def test_offered_starts_are_future_ordered_aligned_outside_blackouts(case):
    data, now = case
    options = S.offered_starts(webinar(data), now=now)
    times = [o for o in options if o.label_kind == "time"]
    assert len(times) == data["horizon"]  # enough days ahead, so always a full horizon
    starts = [o.starts_at for o in times]
    assert all(s > now for s in starts)
    assert all(a < b for a, b in pairwise(starts))
    for option in times:
        assert option.starts_at.tzinfo is not None and option.starts_at.utcoffset() == timedelta(0)
        assert option.value == option.starts_at.strftime("%Y-%m-%dT%H:%M:%SZ")
        check_aligned(data, option.starts_at)
    blacked_out_today = now.astimezone(ZoneInfo(data["timezone"])).date().isoformat() in data["blackout_dates"]
    if data["watch_now"] and not blacked_out_today:
        assert options[0].value == "now" and options[0].starts_at == now and options[0].label_kind == "now"
    else:
        assert all(o.value != "now" for o in options)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schedule_and_now())
def test_no_start_is_skipped(case):
    """Minute by minute in UTC (an independent oracle), every qualifying instant up to the last
    offered start is offered."""
    data, now = case
    data["horizon"] = min(data["horizon"], 3)
    if data["kind"] == "every":
        data["every_minutes"] = max(data["every_minutes"], 15)
    starts = [o.starts_at for o in S.offered_starts(webinar(data), now=now) if o.label_kind == "time"]
    zone = ZoneInfo(data["timezone"])
    wanted = {time.fromisoformat(t) for t in data.get("times", [])}
    # Start scanning a few hours early so "first occurrence" knows about repeats before now.
    moment = now.replace(second=0, microsecond=0) - timedelta(hours=3)
    seen_wall: set[datetime] = set()
    expected = []
    while moment <= starts[-1]:
        wall = moment.astimezone(zone)
        naive = wall.replace(tzinfo=None)
        ok = wall.date().isoformat() not in data["blackout_dates"]
        if data["kind"] == "every":
            ok = ok and (wall.hour * 60 + wall.minute) % data["every_minutes"] == 0
        else:
            ok = ok and wall.time() in wanted and naive not in seen_wall  # first occurrence only
            ok = ok and (data["kind"] == "daily" or wall.weekday() in data["weekdays"])
        seen_wall.add(naive)
        if ok and moment > now:
            expected.append(moment)
        moment += timedelta(minutes=1)
    # Gap-shifted daily times are extra starts the oracle does not know; all else must match.
    assert set(expected) <= set(starts)
    for extra in set(starts) - set(expected):
        assert data["kind"] != "every"
        check_aligned(data, extra)


@settings(max_examples=150, deadline=None)
@given(schedule_and_now())
def test_every_offered_value_resolves_and_others_do_not(case):
    data, now = case
    w = webinar(data)
    options = S.offered_starts(w, now=now)
    for option in options:
        resolved = S.resolve_start(w, option.value, now=now)
        assert abs(resolved - option.starts_at) <= timedelta(microseconds=1)
        assert S.is_watch_now_start(resolved) is (option.value == "now")
    later = S.scheduled_starts(S.parse_schedule(data), after=now)
    beyond = [next(later) for _ in range(data["horizon"] + 1)][-1]
    with pytest.raises(Invalid):
        S.resolve_start(w, S.iso_utc(beyond), now=now)
    with pytest.raises(Invalid):
        S.resolve_start(w, S.iso_utc(now - timedelta(days=1)), now=now)


# --- DST, worked examples ------------------------------------------------------------------

def values(data: dict, now: datetime, zone: str) -> list[str]:
    return [local(o.starts_at, zone).strftime("%H:%M%z") for o in S.offered_starts(webinar(data), now=now)
            if o.label_kind == "time"]


def test_every_skips_the_missing_hour_in_berlin():
    data = {"kind": "every", "every_minutes": 30, "timezone": "Europe/Berlin", "horizon": 4}
    now = datetime(2026, 3, 29, 0, 40, tzinfo=UTC)  # 01:40 CET
    assert values(data, now, "Europe/Berlin") == ["03:00+0200", "03:30+0200", "04:00+0200", "04:30+0200"]


def test_every_offers_both_moments_of_the_repeated_hour_in_berlin():
    data = {"kind": "every", "every_minutes": 30, "timezone": "Europe/Berlin", "horizon": 5}
    now = datetime(2026, 10, 25, 0, 10, tzinfo=UTC)  # 02:10 CEST
    assert values(data, now, "Europe/Berlin") == ["02:30+0200", "02:00+0100", "02:30+0100", "03:00+0100",
                                                  "03:30+0100"]


def test_daily_time_inside_the_gap_moves_forward_in_new_york():
    data = {"kind": "daily", "times": ["02:30", "09:00"], "timezone": "America/New_York", "horizon": 4}
    now = datetime(2026, 3, 7, 20, 0, tzinfo=UTC)  # Saturday 15:00 EST; Sunday 02:30 does not exist
    got = [local(o.starts_at, "America/New_York").isoformat() for o in S.offered_starts(webinar(data), now=now)]
    assert got == ["2026-03-08T03:30:00-04:00", "2026-03-08T09:00:00-04:00",
                   "2026-03-09T02:30:00-04:00", "2026-03-09T09:00:00-04:00"]


def test_daily_time_inside_the_repeated_hour_is_offered_once_first_occurrence():
    data = {"kind": "daily", "times": ["01:30"], "timezone": "America/New_York", "horizon": 2}
    now = datetime(2026, 11, 1, 4, 0, tzinfo=UTC)  # 00:00 EDT
    got = [o.starts_at for o in S.offered_starts(webinar(data), now=now)]
    assert got == [datetime(2026, 11, 1, 5, 30, tzinfo=UTC), datetime(2026, 11, 2, 6, 30, tzinfo=UTC)]


def test_daily_time_in_the_repeated_hour_is_not_offered_again_after_its_first_occurrence():
    data = {"kind": "daily", "times": ["01:30"], "timezone": "America/New_York", "horizon": 1}
    now = datetime(2026, 11, 1, 5, 40, tzinfo=UTC)  # 01:40 EDT; 01:30 EST is still ahead
    assert [o.starts_at for o in S.offered_starts(webinar(data), now=now)] == [datetime(2026, 11, 2, 6, 30, tzinfo=UTC)]


def test_weekly_respects_weekdays_and_blackouts_in_the_schedule_zone():
    data = {"kind": "weekly", "weekdays": [0, 3], "times": ["23:30"], "timezone": "America/New_York",
            "horizon": 3, "blackout_dates": ["2026-06-04"]}
    now = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)  # Monday
    got = [local(o.starts_at, "America/New_York").isoformat() for o in S.offered_starts(webinar(data), now=now)]
    # Thursday 4 June is blacked out locally, although 23:30 EDT is already 5 June in UTC.
    assert got == ["2026-06-01T23:30:00-04:00", "2026-06-08T23:30:00-04:00", "2026-06-11T23:30:00-04:00"]


# --- watch now, status, grace ---------------------------------------------------------------

DEMO = {"watch_now": True, "kind": "every", "every_minutes": 15, "horizon": 4, "timezone": "Europe/Berlin"}
NOON = datetime(2026, 6, 1, 12, 7, 30, tzinfo=UTC)


def test_demo_schedule_offers_watch_now_first_then_four_aligned_times():
    options = S.offered_starts(webinar(DEMO), now=NOON)
    assert [o.value for o in options] == ["now", "2026-06-01T12:15:00Z", "2026-06-01T12:30:00Z",
                                          "2026-06-01T12:45:00Z", "2026-06-01T13:00:00Z"]
    assert S.resolve_start(webinar(DEMO), "now", now=NOON) == NOON + timedelta(microseconds=1)
    assert S.is_watch_now_start(S.resolve_start(webinar(DEMO), "now", now=NOON))
    assert S.resolve_start(webinar(DEMO), "now", now=NOON + timedelta(microseconds=5)) == NOON + timedelta(
        microseconds=5)
    assert not S.is_watch_now_start(options[1].starts_at)


@pytest.mark.parametrize("status, has_now, has_times", [
    ("draft", False, True), ("scheduled", False, True), ("live", True, True), ("paused", False, True),
    ("finished", False, False), ("archived", False, False),
])
def test_status_gates_the_options(status, has_now, has_times):
    options = S.offered_starts(webinar(DEMO, status=status), now=NOON)
    assert any(o.value == "now" for o in options) is has_now
    assert any(o.label_kind == "time" for o in options) is has_times
    if not has_now:
        with pytest.raises(Invalid):
            S.resolve_start(webinar(DEMO, status=status), "now", now=NOON)


def test_on_demand_offers_only_watch_now_and_blackout_today_hides_it():
    data = {"kind": "on_demand", "timezone": "Europe/Berlin"}
    assert [o.value for o in S.offered_starts(webinar(data), now=NOON)] == ["now"]
    data["blackout_dates"] = ["2026-06-01"]
    assert S.offered_starts(webinar(data), now=NOON) == []


def test_live_webinars_and_broken_schedules_offer_nothing():
    assert S.offered_starts(SimpleNamespace(type="live", status="live", auto_schedule=None), now=NOON) == []
    assert S.offered_starts(webinar({"kind": "every"}), now=NOON) == []


def test_a_just_passed_option_is_accepted_within_grace_only():
    w = webinar(DEMO)
    just_passed = "2026-06-01T12:15:00Z"
    assert S.resolve_start(w, just_passed, now=NOON + timedelta(minutes=8, seconds=30)) == datetime(
        2026, 6, 1, 12, 15, tzinfo=UTC)
    with pytest.raises(Invalid):
        S.resolve_start(w, just_passed, now=NOON + timedelta(minutes=10))


@pytest.mark.parametrize("value", ["", "soon", "2026-06-01T12:15:00", "2026-06-01T12:16:00Z",
                                   "2026-06-01T12:15:00.5Z", None, 12, "2026-06-01T14:15:00+02:00x"])
def test_values_not_offered_are_refused(value):
    with pytest.raises(Invalid) as err:
        S.resolve_start(webinar(DEMO), value, now=NOON)
    assert err.value.details["field"] == "slot_id"


def test_other_spellings_of_an_offered_instant_are_accepted():
    assert S.resolve_start(webinar(DEMO), "2026-06-01T14:15:00+02:00", now=NOON) == datetime(
        2026, 6, 1, 12, 15, tzinfo=UTC)


def test_naive_now_is_a_programming_error():
    with pytest.raises(ValueError):
        S.offered_starts(webinar(DEMO), now=datetime(2026, 6, 1, 12, 0))


# --- validation for the admin form ----------------------------------------------------------

def test_validate_normalises_form_input():
    got = S.validate_schedule({"kind": "weekly", "times": "18:00, 9:00", "weekdays": "4,0", "horizon": "6",
                               "watch_now": "on", "timezone": "America/New_York",
                               "blackout_dates": "2026-12-25 2026-12-24"})
    assert got == {"kind": "weekly", "watch_now": True, "horizon": 6, "timezone": "America/New_York",
                   "times": ["09:00", "18:00"], "weekdays": [0, 4], "blackout_dates": ["2026-12-24", "2026-12-25"]}
    assert S.validate_schedule('{"kind": "on_demand"}') == {"kind": "on_demand", "watch_now": True, "horizon": 4}
    assert S.validate_schedule(DEMO) == {**DEMO}


@pytest.mark.parametrize("data, field", [
    ("{nope", "auto_schedule"),
    ([1], "auto_schedule"),
    ({"kind": "hourly"}, "kind"),
    ({"kind": "every"}, "every_minutes"),
    ({"kind": "every", "every_minutes": 0}, "every_minutes"),
    ({"kind": "every", "every_minutes": 1441}, "every_minutes"),
    ({"kind": "every", "every_minutes": True}, "every_minutes"),
    ({"kind": "every", "every_minutes": 15.5}, "every_minutes"),
    ({"kind": "daily"}, "times"),
    ({"kind": "daily", "times": ["25:00"]}, "times"),
    ({"kind": "daily", "times": "9.30"}, "times"),
    ({"kind": "weekly", "times": ["09:00"]}, "weekdays"),
    ({"kind": "weekly", "times": ["09:00"], "weekdays": [7]}, "weekdays"),
    ({"kind": "on_demand", "timezone": "Mars/Olympus"}, "timezone"),
    ({"kind": "on_demand", "timezone": "../../etc/passwd"}, "timezone"),
    ({"kind": "on_demand", "blackout_dates": ["2026-13-01"]}, "blackout_dates"),
    ({"kind": "on_demand", "horizon": 0}, "horizon"),
    ({"kind": "on_demand", "horizon": 51}, "horizon"),
    ({"kind": "on_demand", "watch_now": "maybe"}, "watch_now"),
    ({"kind": "on_demand", "colour": "red"}, "colour"),
])
def test_validate_refuses_with_a_field_message(data, field):
    with pytest.raises(Invalid) as err:
        S.validate_schedule(data)
    assert err.value.details["field"] == field
    assert err.value.message
