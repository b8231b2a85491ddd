"""The start times a registration may pick: live slots, or the starts a webinar type offers
itself (auto webinars: their evergreen schedule, registered by portal.autowebinar)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import Flask, current_app

from portal.core.models import Webinar, WebinarSlot, WebinarType
from portal.errors import Invalid

EXTENSION = "portal.registration.starts"
MAIN = "main"  # the form value of a live webinar's main start time when it has extra times


@dataclass(frozen=True)
class Choice:
    """One option of the form's `slot_id` field (value as posted, what it means)."""

    value: str
    starts_at: datetime | None
    kind: str  # "slot" (live slot), "scheduled" (live without slots), "now", "time" (auto)
    label: str = ""
    slot: WebinarSlot | None = None


@dataclass(frozen=True)
class Resolved:
    """What a registration stores for the chosen option."""

    slot: WebinarSlot | None
    starts_at: datetime | None  # auto webinars only


@dataclass(frozen=True)
class Starts:
    """A webinar type that offers its own start times instead of slots."""

    #: the options to show (value, start, kind "now" | "time")
    offered: Callable[[Webinar, datetime], list[Choice]]
    #: the start a posted value names; raises Invalid when it is not offered
    resolve: Callable[[Webinar, str, datetime], datetime]


def init_app(app: Flask) -> None:
    app.extensions[EXTENSION] = {}


def register_starts(app: Flask, type_: str, starts: Starts) -> None:
    """Let webinars of `type_` offer their own starts (called by the type's package)."""
    app.extensions[EXTENSION][type_] = starts


def _starts(webinar: Webinar) -> Starts | None:
    starts = current_app.extensions[EXTENSION].get(webinar.type)
    if starts is None and webinar.type != WebinarType.live.value:
        raise LookupError(f"no start times registered for webinar type {webinar.type!r}")
    return starts


def _open_slots(webinar: Webinar, *, now: datetime) -> list[WebinarSlot]:
    """Slots that have not ended yet (a late joiner may still register for a running slot)."""
    length = timedelta(minutes=webinar.duration_minutes or 60)
    return [s for s in webinar.slots if s.starts_at + length > now]


def _main_open(webinar: Webinar, *, now: datetime) -> bool:
    """Has the main start time (`scheduled_at`) not ended yet?"""
    length = timedelta(minutes=webinar.duration_minutes or 60)
    return webinar.scheduled_at is not None and webinar.scheduled_at + length > now


def offered(webinar: Webinar, *, now: datetime) -> list[Choice]:
    """The options to show; empty means there is nothing left to register for."""
    if (starts := _starts(webinar)) is not None:
        return starts.offered(webinar, now)
    if webinar.slots:
        # The main start time is one of the times too (it runs first: portal.core.runs).
        main = [Choice(MAIN, webinar.scheduled_at, "scheduled")] if _main_open(webinar, now=now) else []
        slots = [Choice(str(s.slot_id), s.starts_at, "slot", s.label, s) for s in _open_slots(webinar, now=now)]
        return sorted(main + slots, key=lambda c: c.starts_at or now)
    return [Choice("", webinar.scheduled_at, "scheduled")]


def resolve(webinar: Webinar, value: str | None, *, now: datetime) -> Resolved:
    """The option a posted `slot_id` names; Invalid (field slot_id) when it is not offered."""
    value = (value or "").strip()
    if (starts := _starts(webinar)) is not None:
        if not value:
            raise Invalid("Please choose when you want to watch.", details={"field": "slot_id"})
        try:
            return Resolved(None, starts.resolve(webinar, value, now))
        except Invalid:
            raise Invalid("That start time is no longer offered. Please choose another one.",
                          details={"field": "slot_id"}) from None
    if not webinar.slots:
        if value:
            raise Invalid("Unknown time slot.", details={"field": "slot_id"})
        return Resolved(None, None)
    slots = _open_slots(webinar, now=now)
    main_open = _main_open(webinar, now=now)
    if value == MAIN and main_open:
        return Resolved(None, None)
    if not value and len(slots) == 1 and not main_open:
        return Resolved(slots[0], None)
    if not value:
        raise Invalid("Please choose a time.", details={"field": "slot_id"})
    for slot in slots:
        if str(slot.slot_id) == value:
            return Resolved(slot, None)
    raise Invalid("Unknown time slot. Please choose one of the offered times.", details={"field": "slot_id"})


def start_of(webinar: Webinar, *, slot: WebinarSlot | None, starts_at: datetime | None) -> datetime | None:
    """When a registration's webinar begins for that attendee."""
    if starts_at is not None:
        return starts_at
    if slot is not None:
        return slot.starts_at
    return webinar.scheduled_at
