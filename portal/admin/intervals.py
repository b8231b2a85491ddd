"""Interval arithmetic for attendance: union per attendee, totals and a presence timeline.

Pure functions over (start, end) pairs of aware datetimes; an open interval is closed by the
caller (at "now" or when the webinar finished) before it gets here.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

Interval = tuple[datetime, datetime]


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """The union of `intervals` as sorted, non-overlapping intervals (two tabs count once)."""
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


def total_seconds(intervals: Iterable[Interval]) -> int:
    """Seconds covered by the union of `intervals`."""
    return int(sum((end - start).total_seconds() for start, end in merge(intervals)))


@dataclass(frozen=True)
class Point:
    """Attendees present at `at` (the peak within the bucket that starts there)."""

    at: datetime
    count: int


def presence_steps(per_attendee: Mapping[object, Sequence[Interval]]) -> list[Point]:
    """How many distinct attendees were present after each change, in time order."""
    deltas: dict[datetime, int] = {}
    for intervals in per_attendee.values():
        for start, end in merge(intervals):
            if end == start:
                continue
            deltas[start] = deltas.get(start, 0) + 1
            deltas[end] = deltas.get(end, 0) - 1
    steps: list[Point] = []
    present = 0
    for at in sorted(deltas):
        present += deltas[at]
        steps.append(Point(at, present))
    return steps


def bucketed(steps: Sequence[Point], *, buckets: int = 120) -> list[Point]:
    """`steps` resampled into at most `buckets` equal periods, each holding its peak count."""
    if not steps:
        return []
    first, last = steps[0].at, steps[-1].at
    span = last - first
    if span <= timedelta(0):
        return [Point(first, max(p.count for p in steps))]
    width = max(span / buckets, timedelta(seconds=1))
    n = int(span / width) + 1
    peaks = [0] * n
    current = 0
    i = 0
    for b in range(n):
        bucket_start, bucket_end = first + width * b, first + width * (b + 1)
        # Changes exactly at the bucket's start set its opening count; later ones may peak.
        while i < len(steps) and steps[i].at <= bucket_start:
            current = steps[i].count
            i += 1
        peak = current
        while i < len(steps) and steps[i].at < bucket_end:
            current = steps[i].count
            peak = max(peak, current)
            i += 1
        peaks[b] = peak
    return [Point(first + width * b, peaks[b]) for b in range(n)]
