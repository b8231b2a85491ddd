"""Interval arithmetic for attendance: union per attendee, totals and a presence timeline.

Pure functions over (start, end) pairs of POSIX timestamps (float seconds, UTC): the reports
read them straight from the database, because parsing ~100,000 datetimes would cost more
than the arithmetic. An open interval is closed by the caller (at "now" or when the webinar
finished) before it gets here.
"""
from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from operator import sub

Interval = tuple[float, float]
UTC = UTC


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """The union of `intervals` as sorted, non-overlapping intervals (two tabs count once)."""
    if isinstance(intervals, list) and len(intervals) == 1:  # most attendees: one visit
        return intervals if intervals[0][1] >= intervals[0][0] else []
    merged: list[Interval] = []
    for start, end in sorted(intervals):
        if end < start:
            continue
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def covered_seconds(merged: Iterable[Interval]) -> int:
    """Seconds covered by already merged intervals."""
    return int(sum(end - start for start, end in merged))


def total_seconds(intervals: Iterable[Interval]) -> int:
    """Seconds covered by the union of `intervals`."""
    return covered_seconds(merge(intervals))


@dataclass(frozen=True)
class Point:
    """Attendees present at `at` (the peak within the bucket that starts there)."""

    at: datetime
    count: int


@dataclass(frozen=True)
class Presence:
    peak: int
    points: list[Point]


def presence(merged_per_attendee: Iterable[Sequence[Interval]], *, buckets: int = 120) -> Presence:
    """Distinct attendees present over time (each attendee's intervals already merged): the
    overall peak and at most `buckets` equal periods, each holding its own peak.

    Present at t = starts <= t minus ends <= t (someone leaving exactly when another enters
    is a hand-over, not a peak). The count only rises at a start, so a period's peak is its
    opening count or the count at one of its starts; bisect does the counting in C.
    """
    starts: list[float] = []
    ends: list[float] = []
    for spans in merged_per_attendee:
        for start, end in spans:
            if end > start:
                starts.append(start)
                ends.append(end)
    if not starts:
        return Presence(0, [])
    starts.sort()
    ends.sort()
    at_start = list(map(sub, map(partial(bisect_right, starts), starts), map(partial(bisect_right, ends), starts)))
    first, last = starts[0], ends[-1]
    span = last - first
    if span <= 0:
        return Presence(max(at_start), [Point(datetime.fromtimestamp(first, UTC), max(at_start))])
    width = max(span / buckets, 1.0)
    points: list[Point] = []
    for b in range(int(span / width) + 1):
        lo, hi = first + width * b, first + width * (b + 1)
        opening = bisect_right(starts, lo) - bisect_right(ends, lo)
        inside = at_start[bisect_left(starts, lo):bisect_left(starts, hi)]
        points.append(Point(datetime.fromtimestamp(lo, UTC), max(opening, *inside) if inside else opening))
    return Presence(max(at_start), points)
