"""Creating and editing webinars from the organizer form; status changes go through Core.

The form never writes `status` or `cta_visibility`: `apply()` accepts only EDITABLE fields and
raises GuardedFieldWrite for the guarded ones (Core's guard would refuse them anyway).
"""
from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, func, select

from portal import signals, timefmt
from portal.admin import slugs
from portal.core import lifecycle
from portal.core.guard import GUARDED, GuardedFieldWrite
from portal.core.models import Role, Status, StreamType, User, Webinar, WebinarSlot, WebinarType
from portal.core.permissions import Action, Actor, require
from portal.db_types import utcnow
from portal.errors import Conflict, Invalid
from portal.extensions import db
from portal.mail import reminders
from portal.media import players
from portal.registration.models import Registration

log = logging.getLogger(__name__)
UTC = UTC

EDITABLE = (
    "title", "slug", "description", "type", "scheduled_at", "timezone", "duration_minutes",
    "stream_type", "stream_url", "external_chat_ref", "cta_text", "cta_url", "cta_at_sec",
    "chat_lobby_minutes", "show_attendee_count", "auto_schedule", "owner_user_id",
    "remind_24h", "remind_1h", "remind_live",
)
# Changing these moves the calendar entry, so attendees' calendars must update (.ics SEQUENCE).
CALENDAR_FIELDS = ("scheduled_at", "duration_minutes")
# Reminder switches: one turned off is honoured at send time (portal.mail.reminders.still_wanted).
REMINDER_SWITCHES = ("remind_24h", "remind_1h", "remind_live")
OPERATIONS = ("publish", "unpublish", "start", "pause", "stop", "archive", "cancel")
NOT_STARTED = (Status.draft.value, Status.scheduled.value)
MAX_SLOTS = 50


@dataclass
class WebinarInput:
    """What the organizer form submitted, already parsed to types (times are local)."""

    title: str
    type: str = WebinarType.live.value
    slug: str = ""
    description: str = ""
    scheduled_at: datetime | None = None  # naive wall-clock time in `timezone`
    timezone: str = "UTC"
    duration_minutes: int = 60
    slots: str = ""  # extra live start times, one "YYYY-MM-DD HH:MM" (local) per line
    stream_type: str = StreamType.obs.value
    stream_url: str = ""
    external_chat_ref: str = ""
    cta_text: str = ""
    cta_url: str = ""
    cta_at_sec: int | None = None
    chat_lobby_minutes: int = 15
    show_attendee_count: bool = True
    auto_schedule: dict[str, Any] | None = None
    owner_user_id: int | None = None
    # Reminder mails (portal.mail.reminders); auto webinars use remind_1h and remind_live.
    remind_24h: bool = True
    remind_1h: bool = True
    remind_live: bool = True


@dataclass
class _Checked:
    values: dict[str, Any] = field(default_factory=dict)
    slots: list[datetime] = field(default_factory=list)
    errors: dict[str, list[str]] = field(default_factory=dict)

    def fail(self, name: str, message: object) -> None:
        self.errors.setdefault(name, []).append(str(message))


# --- writing ---------------------------------------------------------------------------------

def apply(webinar: Webinar, values: Mapping[str, Any]) -> None:
    """Copy form values onto the webinar; anything but EDITABLE fields is refused loudly."""
    for name in values:
        if name in GUARDED:
            raise GuardedFieldWrite(f"the organizer form may not write webinar.{name}")
        if name not in EDITABLE:
            raise ValueError(f"webinar.{name} is not editable from the organizer form")
    changed = tuple(name for name, value in values.items()
                    if webinar.webinar_id is not None and getattr(webinar, name) != value)
    for name, value in values.items():
        setattr(webinar, name, value)
    if changed:  # open rooms and consoles show the edit once it is committed
        signals.after_commit(signals.webinar_edited, webinar.webinar_id, fields=changed)


def create(data: WebinarInput, *, actor: User) -> Webinar:
    """A new draft webinar owned by `actor` (or the owner an admin picked)."""
    require(actor, Action.CREATE)
    checked = check(data, webinar=None, actor=actor, now=utcnow())
    webinar = Webinar()
    apply(webinar, checked.values)
    if webinar.owner_user_id is None:
        webinar.owner_user_id = actor.user_id
    for starts_at in checked.slots:
        webinar.slots.append(WebinarSlot(starts_at=starts_at))
    db.session.add(webinar)
    db.session.commit()
    log.info("webinar %s created by user %s", webinar.webinar_id, actor.user_id)
    return webinar


def update(webinar: Webinar, data: WebinarInput, *, actor: User) -> Webinar:
    """Save the form onto `webinar`; moving its time bumps calendar_sequence, links stay."""
    require(actor, Action.EDIT, webinar)
    if webinar.status == Status.archived.value:
        raise Conflict("The webinar is archived; it can no longer be edited.")
    checked = check(data, webinar=webinar, actor=actor, now=utcnow())
    moved = any(
        name in checked.values and checked.values[name] != getattr(webinar, name) for name in CALENDAR_FIELDS
    )
    switched_on = any(checked.values.get(name) and not getattr(webinar, name) for name in REMINDER_SWITCHES)
    apply(webinar, checked.values)
    _sync_slots(webinar, checked.slots)
    if moved:
        webinar.calendar_sequence = (webinar.calendar_sequence or 0) + 1
        if webinar.status != Status.draft.value:
            # Same transaction: the notices, the new start's reminders, the old ones skipped.
            db.session.flush()
            reminders.rescheduled(webinar)
    if switched_on and not moved and webinar.status == Status.scheduled.value:
        db.session.flush()
        reminders.requeue(webinar)  # a reminder turned on reaches those registered already
    db.session.commit()
    log.info("webinar %s edited by user %s (calendar moved: %s)", webinar.webinar_id, actor.user_id, moved)
    return webinar


def change_status(webinar: Webinar, operation: str, *, actor: Actor) -> lifecycle.Outcome:
    """Publish, unpublish, start, pause, stop, archive or cancel through Core (which checks and refuses)."""
    if operation not in OPERATIONS:
        raise Invalid("Unknown operation.", details={"operation": operation})
    if operation in lifecycle.HOOK_ACTIONS:
        return lifecycle.core_webinar_set_status(webinar, operation, actor=actor)
    return getattr(lifecycle, operation)(webinar, actor=actor)


def available_operations(webinar: Webinar) -> list[str]:
    """The Core operations that make sense from the webinar's current status."""
    return [op for op in OPERATIONS if webinar.status in lifecycle.TRANSITIONS[op]]


def _sync_slots(webinar: Webinar, wanted: list[datetime]) -> None:
    keep = set(wanted)
    for slot in list(webinar.slots):
        if slot.starts_at not in keep:
            webinar.slots.remove(slot)
    have = {slot.starts_at for slot in webinar.slots}
    for starts_at in wanted:
        if starts_at not in have:
            webinar.slots.append(WebinarSlot(starts_at=starts_at))


# --- validation ------------------------------------------------------------------------------

def check(data: WebinarInput, *, webinar: Webinar | None, actor: User, now: datetime) -> _Checked:
    """Validate the form against the rules that need the database; raise Invalid with every
    field's messages (details["fields"]) or return the values to apply."""
    out = _Checked()
    title = data.title.strip()
    if not title:
        out.fail("title", _l("Give the webinar a title."))
    out.values.update(
        title=title,
        description=data.description.strip(),
        duration_minutes=data.duration_minutes,
        chat_lobby_minutes=data.chat_lobby_minutes,
        show_attendee_count=bool(data.show_attendee_count),
        remind_24h=bool(data.remind_24h),
        remind_1h=bool(data.remind_1h),
        remind_live=bool(data.remind_live),
    )
    _check_slug(out, data, webinar=webinar, title=title)
    _check_type(out, data, webinar=webinar)
    zone = _check_zone(out, data)
    _check_stream(out, data)
    _check_cta(out, data)
    if data.type == WebinarType.live.value:
        _check_live_times(out, data, webinar=webinar, zone=zone, now=now)
    else:
        _check_auto(out, data, webinar=webinar)
    if data.owner_user_id is not None:
        _check_owner(out, data.owner_user_id, webinar=webinar, actor=actor)
    if out.errors:
        raise Invalid("Please correct the marked fields.", details={"fields": out.errors})
    return out


def _check_slug(out: _Checked, data: WebinarInput, *, webinar: Webinar | None, title: str) -> None:
    own_id = webinar.webinar_id if webinar is not None else None

    def taken(candidate: str) -> bool:
        query = select(exists().where(Webinar.slug == candidate, Webinar.webinar_id != (own_id or -1)))
        return bool(db.session.scalar(query))

    slug = data.slug.strip().lower()
    if not slug:
        out.values["slug"] = slugs.unique_slug(slugs.slugify(title), taken=taken)
    elif not slugs.is_valid(slug):
        out.fail("slug", _l("Use lowercase latin letters, digits and single dashes (e.g. spring-launch)."))
    elif taken(slug):
        out.fail("slug", _l("Another webinar already uses this slug."))
    else:
        out.values["slug"] = slug


def _check_type(out: _Checked, data: WebinarInput, *, webinar: Webinar | None) -> None:
    if data.type not in {t.value for t in WebinarType}:
        out.fail("type", _l("Choose live or auto."))
        return
    if webinar is not None and data.type != webinar.type:
        if webinar.status != Status.draft.value or _has_registrations(webinar):
            out.fail("type", _l("The type can change only while the webinar is a draft without registrations."))
            return
    out.values["type"] = data.type


def _check_zone(out: _Checked, data: WebinarInput) -> ZoneInfo | None:
    try:
        zone = ZoneInfo(data.timezone)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        out.fail("timezone", _l("Choose a time zone from the list."))
        return None
    out.values["timezone"] = data.timezone
    return zone


def is_url(value: str, *, allow_path: bool = False) -> bool:
    """An absolute http(s) URL, or (when allowed) a path on this site such as /static/x.m3u8."""
    if not value or any(ch.isspace() for ch in value):
        return False
    if allow_path and value.startswith("/") and not value.startswith("//"):
        return True
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _check_stream(out: _Checked, data: WebinarInput) -> None:
    if data.stream_type not in {s.value for s in StreamType}:
        out.fail("stream_type", _l("Choose OBS, YouTube, Vimeo, Zoom or Telegram."))
    else:
        out.values["stream_type"] = data.stream_type
    stream_url = data.stream_url.strip()
    if data.stream_type in players.EMBEDDED and stream_url:
        try:  # stored as the player's embed URL: only YouTube / Vimeo ever get framed
            stream_url = players.embed_url(data.stream_type, stream_url)
        except Invalid as error:
            out.fail("stream_url", error.translated())
    elif stream_url and not is_url(stream_url, allow_path=True):
        out.fail("stream_url", _l("Enter a link starting with https:// (or a path on this site)."))
    out.values["stream_url"] = stream_url
    chat_ref = data.external_chat_ref.strip()
    if chat_ref and any(ch.isspace() for ch in chat_ref):
        out.fail("external_chat_ref", _l("Enter a link or a handle without spaces."))
    # An internal chat (OBS) has no external reference; keeping a stale one would confuse the room.
    out.values["external_chat_ref"] = "" if data.stream_type == StreamType.obs.value else chat_ref


def _check_cta(out: _Checked, data: WebinarInput) -> None:
    text, url = data.cta_text.strip(), data.cta_url.strip()
    if url and not is_url(url):
        out.fail("cta_url", _l("Enter a link starting with https://."))
    if text and not url:
        out.fail("cta_url", _l("A call-to-action needs a link."))
    if url and not text:
        out.fail("cta_text", _l("A call-to-action needs a button text."))
    out.values.update(cta_text=text, cta_url=url)


def _check_live_times(out: _Checked, data: WebinarInput, *, webinar: Webinar | None, zone: ZoneInfo | None,
                      now: datetime) -> None:
    if zone is None:
        return
    if data.scheduled_at is None:
        out.fail("scheduled_at", _l("A live webinar needs a start date and time."))
        return
    try:
        starts = local_to_utc(data.scheduled_at, zone)
    except ValueError:
        out.fail("scheduled_at", _l("This time does not exist in the chosen zone (the clocks change then)."))
        return
    current = webinar.scheduled_at if webinar is not None else None
    if starts != current:
        if webinar is not None and webinar.status not in NOT_STARTED:
            out.fail("scheduled_at", _l("The webinar has already started; its start time can no longer change."))
            return
        if starts <= now:
            out.fail("scheduled_at", _l("Pick a start time in the future."))
            return
    out.values["scheduled_at"] = starts
    out.slots = _check_slots(out, data.slots, zone=zone, webinar=webinar, now=now)


def _check_slots(out: _Checked, text: str, *, zone: ZoneInfo, webinar: Webinar | None, now: datetime) -> list[datetime]:
    existing = {s.starts_at: s for s in webinar.slots} if webinar is not None else {}
    wanted: list[datetime] = []
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) > MAX_SLOTS:
        out.fail("slots", _l("At most %(n)s extra start times.", n=MAX_SLOTS))
        return []
    for number, line in enumerate(lines, start=1):
        try:
            local = datetime.strptime(line.replace("T", " "), "%Y-%m-%d %H:%M")
            starts = local_to_utc(local, zone)
        except ValueError:
            out.fail("slots", _l("Line %(n)s: write a time like 2026-05-20 18:30.", n=number))
            continue
        if starts in wanted:
            continue
        if starts not in existing and starts <= now:
            out.fail("slots", _l("Line %(n)s: pick a time in the future.", n=number))
            continue
        wanted.append(starts)
    removed = [slot for at, slot in existing.items() if at not in wanted]
    if removed:
        booked = _slots_with_registrations([s.slot_id for s in removed])
        for slot in removed:
            if slot.slot_id in booked:
                local = timefmt.wall_time(slot.starts_at, zone)
                out.fail("slots", _l("%(time)s has registrations, so it cannot be removed.", time=local))
    return sorted(wanted)


def _check_auto(out: _Checked, data: WebinarInput, *, webinar: Webinar | None) -> None:
    from portal.autowebinar import schedule  # the schedule format belongs to AutoWebinar

    # The recording (and its duration, read from the file) is attached on the Recording page
    # (portal.media); the CTA must fall inside it.
    duration = webinar.recording_duration_sec if webinar is not None else None
    if data.cta_at_sec is not None and duration and data.cta_at_sec > duration:
        out.fail("cta_at_sec", _l("The call-to-action must appear before the recording ends."))
    out.values.update(cta_at_sec=data.cta_at_sec)
    try:
        out.values["auto_schedule"] = schedule.validate_schedule(data.auto_schedule or {})
    except Invalid as error:
        out.fail(f"auto_schedule-{error.details.get('field', 'kind')}", error.translated())


def _check_owner(out: _Checked, owner_id: int, *, webinar: Webinar | None, actor: User) -> None:
    current = webinar.owner_user_id if webinar is not None else actor.user_id
    if owner_id == current:
        out.values["owner_user_id"] = owner_id
        return
    if actor.role != Role.admin.value:
        out.fail("owner_user_id", _l("Only an admin can hand a webinar to another organizer."))
        return
    owner = db.session.get(User, owner_id)
    if owner is None or owner.is_disabled or owner.role not in (Role.organizer.value, Role.admin.value):
        out.fail("owner_user_id", _l("Choose an active organizer."))
        return
    out.values["owner_user_id"] = owner_id


def local_to_utc(local: datetime, zone: ZoneInfo) -> datetime:
    """A wall-clock time in `zone` as UTC; ValueError when the clocks skip that time."""
    aware = local.replace(tzinfo=zone)
    if aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != local.replace(tzinfo=None):
        raise ValueError("non-existent local time")
    return aware.astimezone(UTC)


def _has_registrations(webinar: Webinar) -> bool:
    return bool(db.session.scalar(select(exists().where(Registration.webinar_id == webinar.webinar_id))))


def _slots_with_registrations(slot_ids: list[int]) -> set[int]:
    rows = db.session.execute(
        select(Registration.slot_id, func.count())
        .where(Registration.slot_id.in_(slot_ids)).group_by(Registration.slot_id)
    )
    return {slot_id for slot_id, _ in rows}
