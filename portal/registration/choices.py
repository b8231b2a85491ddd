"""The start times a registration may pick: live slots, or an auto webinar's evergreen starts."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from portal.core.models import Webinar, WebinarSlot, WebinarType
from portal.errors import Invalid


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


def _open_slots(webinar: Webinar, *, now: datetime) -> list[WebinarSlot]:
    """Slots that have not ended yet (a late joiner may still register for a running slot)."""
    length = timedelta(minutes=webinar.duration_minutes or 60)
    return [s for s in webinar.slots if s.starts_at + length > now]


def offered(webinar: Webinar, *, now: datetime) -> list[Choice]:
    """The options to show; empty means there is nothing left to register for."""
    if webinar.type == WebinarType.auto.value:
        from portal.autowebinar import schedule  # owned by the autowebinar domain

        return [Choice(o.value, o.starts_at, o.label_kind) for o in schedule.offered_starts(webinar, now=now)]
    if webinar.slots:
        return [Choice(str(s.slot_id), s.starts_at, "slot", s.label, s) for s in _open_slots(webinar, now=now)]
    return [Choice("", webinar.scheduled_at, "scheduled")]


def resolve(webinar: Webinar, value: str | None, *, now: datetime) -> Resolved:
    """The option a posted `slot_id` names; Invalid (field slot_id) when it is not offered."""
    value = (value or "").strip()
    if webinar.type == WebinarType.auto.value:
        from portal.autowebinar import schedule

        if not value:
            raise Invalid("Please choose when you want to watch.", details={"field": "slot_id"})
        try:
            return Resolved(None, schedule.resolve_start(webinar, value, now=now))
        except Invalid:
            raise Invalid("That start time is no longer offered. Please choose another one.",
                          details={"field": "slot_id"}) from None
    if not webinar.slots:
        if value:
            raise Invalid("Unknown time slot.", details={"field": "slot_id"})
        return Resolved(None, None)
    slots = _open_slots(webinar, now=now)
    if not value and len(slots) == 1:
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
