"""What a replay shows at each moment: a registry of timed sources, filled per app.

A source reads one finished run and returns its `TimedItem`s, each at an offset (seconds
from the run's start, i.e. the same second of the recording). `feed` items accumulate (chat
messages, questions); `state` items replace the earlier one of the same key (the CTA shown
or hidden, a poll's results). Replay fills chat and CTA in its init_app; the Q&A and polls
packages (rank 3.3, below replay) cannot import it, so replay registers their sources too
once they exist, or they hand a `Source` to `register(app, name, source)` through replay's
init_app — either way the page asks only this registry.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import Flask, current_app

EXTENSION = "portal.replay.timeline"
CACHE_SECONDS = 30.0  # a finished run's items barely change (moderation); polls must stay cheap


@dataclass(frozen=True)
class Run:
    """The recorded live run: its webinar, session and the window its facts are read from."""

    webinar_id: int
    session_id: str | None
    started_at: datetime
    ended_at: datetime | None
    recording_id: int

    def offset(self, at: datetime) -> float:
        return (at - self.started_at).total_seconds()


@dataclass(frozen=True)
class TimedItem:
    """One thing that happened `at` seconds into the run, rendered by `template`."""

    at: float
    kind: str  # "feed" (kept) or "state" (replaces the earlier item of the same key)
    key: str
    template: str
    context: Mapping[str, Any] = field(default_factory=dict)


Source = Callable[[Run], Iterable[TimedItem]]


class Timeline:
    """name -> Source, and a short cache of each run's sorted items."""

    def __init__(self) -> None:
        self._sources: dict[str, Source] = {}
        self._cache: dict[int, tuple[float, list[TimedItem]]] = {}

    def register(self, name: str, source: Source) -> None:
        if name in self._sources and self._sources[name] is not source:
            raise ValueError(f"replay source {name!r} is already registered")
        self._sources[name] = source

    def items(self, run: Run) -> list[TimedItem]:
        cached = self._cache.get(run.recording_id)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        items = sorted((item for source in self._sources.values() for item in source(run)),
                       key=lambda item: item.at)
        self._cache[run.recording_id] = (time.monotonic() + CACHE_SECONDS, items)
        return items


def init_app(app: Flask) -> Timeline:
    timeline = app.extensions[EXTENSION] = Timeline()
    return timeline


def register(app: Flask, name: str, source: Source) -> None:
    """Add a source of timed items (called from an init_app)."""
    app.extensions[EXTENSION].register(name, source)


def at(run: Run, seconds: float) -> tuple[list[TimedItem], list[TimedItem]]:
    """(feed items so far, current state items) at `seconds` into the recording."""
    feed: list[TimedItem] = []
    state: dict[str, TimedItem] = {}
    for item in current_app.extensions[EXTENSION].items(run):
        if item.at > seconds:
            break
        if item.kind == "feed":
            feed.append(item)
        else:
            state[item.key] = item
    return feed, list(state.values())


def key(feed: list[TimedItem], states: list[TimedItem]) -> str:
    """What the page shows, in a few characters: equal keys, nothing new to swap in."""
    return f"{len(feed)}:" + ",".join(f"{item.key}@{item.at:g}" for item in states)
