"""What the pages of a webinar report about their player, kept per worker (app.extensions).

A room page reports every few seconds (static/js/health.js): its player's state, whether the
browser blocked autoplay, whether the CTA was on screen and whether it was clicked; through
its socket, or in its polling request while the socket is down. A report is checked strictly
(known fields and states, booleans, small) and kept as the attendee's latest; an attendee
whose reports stop for ENTRY_TTL seconds is no longer counted. Nothing is stored in the
database and nothing per attendee is pushed to anyone: the console gets counts.
"""
from __future__ import annotations

import functools
import json
import threading
import time
from collections import Counter
from dataclasses import dataclass

from portal.errors import Invalid

STATES = ("playing", "paused", "buffering", "stalled", "idle")  # idle: no player on the page (yet)
FLAGS = ("autoplay_blocked", "cta_seen", "cta_clicked")
VIAS = ("socket", "polling")
MAX_REPORT_CHARS = 200  # a report is about 90 characters of JSON
MAX_POLLED = 20_000  # polled reports kept between two ticks (one second)
ENTRY_TTL = 15.0  # seconds without a report before an attendee is no longer counted (3 reports)
#: The counts the panel shows (and the workers pool): transport, states, flags, total.
FIELDS = ("total", *VIAS, *STATES, *FLAGS)
BAD_REPORT = "This player report is not valid."


@dataclass(frozen=True, slots=True)
class Report:
    """One page's player as it reported it."""

    state: str
    autoplay_blocked: bool = False
    cta_seen: bool = False
    cta_clicked: bool = False


def parse(payload: object) -> Report:
    """A report from a decoded frame or header: exactly the known keys, a known state,
    booleans for the flags; anything else is Invalid (and nothing is kept)."""
    if not isinstance(payload, dict):
        raise Invalid(BAD_REPORT)
    fields = {key: value for key, value in payload.items() if key != "type"}
    if set(fields) - {"state", *FLAGS} or fields.get("state") not in STATES:
        raise Invalid(BAD_REPORT)
    if any(not isinstance(fields.get(flag, False), bool) for flag in FLAGS):
        raise Invalid(BAD_REPORT)
    return Report(fields["state"], **{flag: fields.get(flag, False) for flag in FLAGS})


@functools.lru_cache(maxsize=1024)
def parse_text(text: str) -> Report:
    """A report sent as JSON text (the polling request's header). Cached by its text: a page
    sends the same few reports in every poll (a Report is immutable; a refusal is not cached)."""
    if len(text) > MAX_REPORT_CHARS:
        raise Invalid(BAD_REPORT)
    try:
        payload = json.loads(text)
    except ValueError:
        raise Invalid(BAD_REPORT) from None
    return parse(payload)


class Board:
    """This worker's latest report per attendee: webinar id -> registration id -> entry."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[int, dict[int, tuple[Report, str, float]]] = {}
        self._polled: dict[str, tuple[Report, float]] = {}  # join token -> latest polled report, when

    def note_polled(self, token: str, report: Report, *, at: float | None = None) -> None:
        """A polling page's report, by its join token: kept until the ticker resolves the
        tokens of the last second (a poll itself reads no database). Past MAX_POLLED tokens
        in one second (a flood of made-up tokens) new ones are not kept: the counts are a
        panel's, not a record."""
        with self._lock:
            if len(self._polled) < MAX_POLLED or token in self._polled:
                self._polled[token] = (report, time.time() if at is None else at)

    def take_polled(self) -> dict[str, tuple[Report, float]]:
        with self._lock:
            polled, self._polled = self._polled, {}
        return polled

    def note(self, webinar_id: int, registration_id: int, report: Report, *, via: str,
             at: float | None = None) -> None:
        if via not in VIAS:
            raise ValueError(f"unknown transport {via!r}")
        with self._lock:
            self._entries.setdefault(webinar_id, {})[registration_id] = (report, via, time.time() if at is None else at)

    def webinars(self) -> list[int]:
        with self._lock:
            return list(self._entries)

    def forget(self, webinar_id: int) -> None:
        """Stop ticking for a webinar nobody reports about any more (after its zeros went out)."""
        with self._lock:
            if not self._entries.get(webinar_id):
                self._entries.pop(webinar_id, None)

    def summary(self, webinar_id: int, *, now: float | None = None) -> Counter[str]:
        """The counts of this worker's current reports (expired ones dropped)."""
        now = time.time() if now is None else now
        counts: Counter[str] = Counter({name: 0 for name in FIELDS})
        with self._lock:
            entries = self._entries.get(webinar_id, {})
            for registration_id in [r for r, (_, _, at) in entries.items() if now - at > ENTRY_TTL]:
                del entries[registration_id]
            for report, via, _ in entries.values():
                counts["total"] += 1
                counts[via] += 1
                counts[report.state] += 1
                for flag in FLAGS:
                    counts[flag] += getattr(report, flag)
        return counts
