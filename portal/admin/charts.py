"""Server-rendered SVG charts: plain geometry, drawn by templates/admin/charts/*.

Charts scale to their container (viewBox + preserveAspectRatio="none"); labels are HTML
around the SVG so text stays readable on a phone.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from portal.admin.intervals import Point

WIDTH = 1000
HEIGHT = 240


def nice_ceiling(value: int) -> int:
    """The smallest of 2, 4, 10, 20, 40, 100... that is >= value: its half, the middle
    axis label, is a whole number of attendees."""
    if value <= 2:
        return 2
    exponent = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 4, 10):
        if step * exponent >= value:
            return step * exponent
    return 10 * exponent


def bar_percent(value: int, maximum: int) -> float:
    """A bar's length in percent of the longest (kept visible when it is not zero)."""
    if maximum <= 0 or value <= 0:
        return 0.0
    return round(max(100.0 * value / maximum, 0.6), 2)


@dataclass(frozen=True)
class Timeline:
    area: str  # SVG path d of the filled step area
    line: str  # SVG path d of the outline
    y_max: int
    gridlines: list[float]  # y positions of the horizontal gridlines
    start: datetime
    middle: datetime
    end: datetime
    width: int = WIDTH
    height: int = HEIGHT


def timeline(points: Sequence[Point], *, width: int = WIDTH, height: int = HEIGHT) -> Timeline | None:
    """A step chart of attendees present over time (None without data)."""
    if not points:
        return None
    start, end = points[0].at, points[-1].at
    span = (end - start).total_seconds() or 1.0
    y_max = nice_ceiling(max(p.count for p in points))
    step_width = width / len(points)

    def x(i: int) -> float:
        return round(i * step_width, 2)

    def y(count: int) -> float:
        return round(height - count / y_max * height, 2)

    moves = [f"M0,{y(points[0].count)}"]
    for i, point in enumerate(points):
        if i:
            moves.append(f"V{y(point.count)}")
        moves.append(f"H{x(i + 1)}")
    line = " ".join(moves)
    area = f"M0,{height} " + line.replace("M", "L", 1) + f" V{height} Z"
    middle = start + (end - start) / 2 if span else start
    gridlines = [round(height * k / 4, 2) for k in range(1, 4)]
    return Timeline(area=area, line=line, y_max=y_max, gridlines=gridlines, start=start, middle=middle,
                    end=points[-1].at, width=width, height=height)
