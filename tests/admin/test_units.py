"""Pure helpers: slugs, interval union and timeline, charts, pagination, durations."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portal.admin import charts, intervals, slugs
from portal.admin.forms import parse_seconds
from portal.admin.pagination import Page
from portal.timefmt import clock

T = datetime(2030, 1, 1, tzinfo=UTC)


def m(minutes: float) -> float:
    return (T + timedelta(minutes=minutes)).timestamp()


@pytest.mark.parametrize("title,slug", [
    ("Запуск весны 2026", "zapusk-vesny-2026"),
    ("Щедрый вечер: ёлка и чай!", "shchedryi-vecher-elka-i-chai"),
    ("Crème brûlée — 101", "creme-brulee-101"),
    ("  ---  ", ""),
    ("Їжак і ґанок", "izhak-i-ganok"),
])
def test_slugify(title, slug):
    assert slugs.slugify(title) == slug


def test_slug_length_and_uniqueness():
    long = slugs.slugify("слово " * 60)
    assert len(long) <= slugs.GENERATED_LENGTH and slugs.is_valid(long)
    taken = {"a", "a-2"}
    assert slugs.unique_slug("a", taken=taken.__contains__) == "a-3"
    assert slugs.unique_slug("", taken=taken.__contains__) == "webinar"
    assert not slugs.is_valid("Bad Slug") and not slugs.is_valid("a--b") and slugs.is_valid("a-b-1")


def test_merge_and_total():
    spans = [(m(0), m(30)), (m(20), m(40)), (m(50), m(60)), (m(60), m(61))]
    assert intervals.merge(spans) == [(m(0), m(40)), (m(50), m(61))]
    assert intervals.total_seconds(spans) == 51 * 60


@given(st.lists(st.tuples(st.integers(0, 500), st.integers(0, 60)), max_size=20))
def test_total_never_exceeds_sum_nor_span(raw):
    spans = [(m(a), m(a + d)) for a, d in raw]
    total = intervals.total_seconds(spans)
    assert total <= sum(d for _, d in raw) * 60
    assert total >= max((d for _, d in raw), default=0) * 60
    merged = intervals.merge(spans)
    assert all(a[1] < b[0] for a, b in pairwise(merged))


def test_presence_peak_and_buckets():
    spans = {1: [(m(0), m(10)), (m(5), m(15))], 2: [(m(5), m(6))]}
    presence = intervals.presence([intervals.merge(s) for s in spans.values()], buckets=3)
    assert presence.peak == 2
    assert [p.count for p in presence.points] == [1, 2, 1, 0]  # 5-minute buckets, each holding its peak
    assert [p.at for p in presence.points] == [T + timedelta(minutes=k) for k in (0, 5, 10, 15)]
    assert intervals.presence([]) == intervals.Presence(0, [])


def test_presence_handover_is_not_a_peak():
    """One attendee leaves exactly when another enters: never two at once."""
    presence = intervals.presence([[(m(0), m(10))], [(m(10), m(20))]], buckets=4)
    assert presence.peak == 1


def test_nice_ceiling_and_bars():
    values = (0, 1, 2, 3, 7, 11, 39, 99, 101, 4000)
    assert [charts.nice_ceiling(v) for v in values] == [2, 2, 2, 4, 10, 20, 40, 100, 200, 4000]
    assert charts.bar_percent(0, 10) == 0 and charts.bar_percent(5, 10) == 50 and charts.bar_percent(1, 100000) == 0.6


def test_timeline_chart_geometry():
    points = [intervals.Point(T + timedelta(minutes=i), c) for i, c in enumerate([0, 2, 3, 1])]
    chart = charts.timeline(points, width=400, height=100)
    assert chart.y_max == 4
    assert chart.line == "M0,100.0 H100.0 V50.0 H200.0 V25.0 H300.0 V75.0 H400.0"
    assert chart.area.startswith("M0,100 L0,100.0") and chart.area.endswith("V100 Z")
    assert charts.timeline([]) is None


@pytest.mark.parametrize("raw,seconds", [("90", 90), ("1:30", 90), ("1:02:03", 3723), ("45:00", 2700)])
def test_parse_seconds(raw, seconds):
    assert parse_seconds(raw) == seconds
    assert parse_seconds(clock(seconds)) == seconds


@pytest.mark.parametrize("raw", ["", "1:75", "abc", "-5", "1:2:3:4"])
def test_parse_seconds_refuses(raw):
    with pytest.raises(ValueError):
        parse_seconds(raw)


def test_page_window():
    page = Page(items=[], number=10, per_page=50, total=1000)
    assert page.pages == 20 and page.offset == 450
    assert page.window() == [1, None, 8, 9, 10, 11, 12, None, 20]
    assert Page(items=[], number=1, per_page=50, total=0).pages == 1


@given(st.lists(st.lists(st.tuples(st.integers(0, 300), st.integers(0, 90)), min_size=1, max_size=3), max_size=25),
       st.integers(1, 40))
def test_presence_matches_brute_force(people, buckets):
    merged = [intervals.merge([(m(a), m(a + d)) for a, d in visits]) for visits in people]
    presence = intervals.presence(merged, buckets=buckets)
    flat = [(s, e) for spans in merged for s, e in spans if e > s]

    def present(t: float) -> int:
        return sum(1 for s, e in flat if s <= t < e)

    assert presence.peak == max((present(s) for s, _ in flat), default=0)
    for i, point in enumerate(presence.points):
        lo = point.at.timestamp()
        hi = presence.points[i + 1].at.timestamp() if i + 1 < len(presence.points) else float("inf")
        candidates = [lo] + [s for s, _ in flat if lo <= s < hi]
        assert point.count == max(present(t) for t in candidates)
