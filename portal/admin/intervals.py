"""Interval arithmetic for attendance: union per attendee, totals and a presence timeline.

Pure functions over (start, end) pairs of POSIX timestamps (float seconds, UTC): the reports
read them straight from the database, because parsing ~100,000 datetimes would cost more
than the arithmetic. An open interval is closed by the caller (at "now" or when the webinar
finished) before it gets here.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

Interval = tuple[float, float]
UTC = timezone.utc


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


def _steps(merged_per_attendee: Iterable[Sequence[Interval]]) -> list[tuple[float, int]]:
    """(timestamp, attendees present from then on) after each change, in time order."""
    changes: list[tuple[float, int]] = []
    for spans in merged_per_attendee:
        for start, end in spans:
            if end > start:
                changes.append((start, 1))
                changes.append((end, -1))
    changes.sort()
    steps: list[tuple[float, int]] = []
    present = 0
    for at, delta in changes:
        present += delta
        if steps and steps[-1][0] == at:
            steps[-1] = (at, present)
        else:
            steps.append((at, present))
    return steps


def _bucketed(steps: list[tuple[float, int]], *, buckets: int) -> list[Point]:
    first, last = steps[0][0], steps[-1][0]
    span = last - first
    if span <= 0:
        return [Point(datetime.fromtimestamp(first, UTC), max(c for _, c in steps))]
    width = max(span / buckets, 1.0)
    n = int(span / width) + 1
    points: list[Point] = []
    current = 0
    i = 0
    for b in range(n):
        bucket_start, bucket_end = first + width * b, first + width * (b + 1)
        # Changes exactly at the bucket's start set its opening count; later ones may peak.
        while i < len(steps) and steps[i][0] <= bucket_start:
            current = steps[i][1]
            i += 1
        peak = current
        while i < len(steps) and steps[i][0] < bucket_end:
            current = steps[i][1]
            peak = max(peak, current)
            i += 1
        points.append(Point(datetime.fromtimestamp(bucket_start, UTC), peak))
    return points


def presence(merged_per_attendee: Iterable[Sequence[Interval]], *, buckets: int = 120) -> Presence:
    """Distinct attendees present over time (each attendee's intervals already merged): the
    overall peak and at most `buckets` equal periods, each holding its own peak."""
    steps = _steps(merged_per_attendee)
    if not steps:
        return Presence(0, [])
    return Presence(max(c for _, c in steps), _bucketed(steps, buckets=buckets))
