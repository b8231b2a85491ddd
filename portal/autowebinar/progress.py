"""The live-effect math of an auto session: live point, position checks, progress milestones.

Pure functions of (started_at, duration, now, position); no database, no Flask.
"""
from __future__ import annotations

import math
from datetime import datetime
from numbers import Real

from portal.attendance.rules import PROGRESS_MILESTONES
from portal.errors import Invalid

MILESTONES = PROGRESS_MILESTONES  # a session reports progress at these percentages
# A player reports its position a little after reading it and clocks differ a little: a
# position this far past the server's live point is still the live point, not a seek ahead.
AHEAD_TOLERANCE_SEC = 5.0
# Players stop a fraction short of a file's nominal length; this close to the end is the end.
END_TOLERANCE_SEC = 1.0


def live_point(started_at: datetime, duration_sec: int, *, now: datetime) -> float:
    """Seconds into the recording a viewer who never paused would be at now (0..duration)."""
    elapsed = (now - started_at).total_seconds()
    return min(max(elapsed, 0.0), float(duration_sec))


def seconds_until_start(started_at: datetime, *, now: datetime) -> float:
    return max((started_at - now).total_seconds(), 0.0)


def parse_position(value: object) -> float:
    """A reported position as a finite float, or Invalid (strings, bools, NaN, infinities)."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise Invalid("The position must be a number of seconds.", details={"field": "position"})
    number = float(value)
    if not math.isfinite(number):
        raise Invalid("The position must be a finite number of seconds.", details={"field": "position"})
    return number


def check_position(position: float, *, live: float, duration_sec: int) -> int:
    """The position in whole seconds, if it is one the viewer may be at; else Invalid.

    Refused: negative, past the end, or ahead of the live point (seeking ahead is not
    allowed: the session plays "as if live").
    """
    if position < 0:
        raise Invalid("The position cannot be negative.", details={"field": "position", "reason": "negative"})
    if position > duration_sec + END_TOLERANCE_SEC:
        raise Invalid("The position is past the end of the recording.",
                      details={"field": "position", "reason": "past_end"})
    if position > live + AHEAD_TOLERANCE_SEC:
        raise Invalid("The position is ahead of the live point.",
                      details={"field": "position", "reason": "ahead_of_live"})
    return min(int(position), duration_sec)


def milestone(position_sec: float, duration_sec: int) -> int:
    """The highest progress milestone (0/25/50/75/100) a position has reached."""
    if duration_sec <= 0:
        return 100
    if position_sec >= duration_sec - END_TOLERANCE_SEC:
        return 100
    share = position_sec / duration_sec
    return max(m for m in MILESTONES if share * 100 >= m)
