"""Reminder, live, reschedule, cancel and thank-you mails: what to queue, when, and whether a
queued one is still wanted when its time comes (issue 10, messages 2-4).

Every mail is a ledger row (portal.mail's `queue`: one per (registration, kind, occurrence)),
written in the transaction of its cause:

- registration (in-transaction `event_emitted` of `client_webinar_registered`): live webinars
  get `remind_24h` and `remind_1h` (switches `webinar.remind_24h` / `remind_1h`), auto
  webinars `remind_1h` and `starting_now` at the chosen start (`remind_1h` /
  `remind_live`); watch-now gets none. The occurrence is the start time the reminder
  refers to (ISO UTC), its due time start − 24 h / − 1 h / start. A reminder whose due time
  has already passed is not queued.
- go-live, end and cancellation: a mail to every registrant at once, in portal.mail.broadcast
  (`live_now` "we are live", due LIVE_NOW_GRACE after go-live, skipped at send time for
  those in the room — `still_wanted`: an open attendance row; `thank_you`; `cancelled`).
- reschedule (`rescheduled(webinar)`, called by admin in the transaction that saves the new
  time): a `rescheduled` notice (new time, same link, .ics with the same UID and the higher
  SEQUENCE) and the reminders of the new start; the queued reminders of the old start are
  skipped (and `still_wanted` skips any whose occurrence is no longer the start).
- `still_wanted` refuses any reminder of a webinar that has a `cancelled` notice, and the
  `replay_link` registry gives the thank-you its replay link when a later issue provides one.

Reminders (REMINDER_KINDS) carry List-Unsubscribe (RFC 8058, portal.mail.unsubscribe); an
unsubscribed registration gets no more of them, the notices (confirmation, link recovery,
rescheduled, cancelled) still go out.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import Flask, current_app
from sqlalchemy import exists, select, update
from sqlalchemy.orm import joinedload

from portal import signals, timefmt
from portal.attendance.models import Attendance
from portal.core import runs
from portal.core.models import Status, Webinar, WebinarType
from portal.db_types import utcnow
from portal.extensions import db
from portal.mail import jobs, sealed
from portal.mail.ledger import TOKEN_KEY, queue, row_values
from portal.mail.models import QUEUED, SKIPPED, MailMessage
from portal.registration.models import CONFIRMED, Registration

log = logging.getLogger(__name__)

BATCH = 500  # ledger rows per transaction when a whole room is queued at once
REMIND_24H, REMIND_1H, STARTING_NOW, LIVE_NOW, THANK_YOU = (
    "remind_24h", "remind_1h", "starting_now", "live_now", "thank_you")
RESCHEDULED, CANCELLED = "rescheduled", "cancelled"
#: Kinds an unsubscribe stops; each carries List-Unsubscribe.
REMINDER_KINDS = (REMIND_24H, REMIND_1H, STARTING_NOW, LIVE_NOW, THANK_YOU)
#: Kinds bound to one start time (skipped when the start moves).
TIMED_KINDS = (REMIND_24H, REMIND_1H, STARTING_NOW)
KINDS = (*REMINDER_KINDS, RESCHEDULED, CANCELLED)
#: The webinar switch each kind obeys (turned off after queueing: skipped at send time).
SWITCH = {REMIND_24H: "remind_24h", REMIND_1H: "remind_1h", STARTING_NOW: "remind_live", LIVE_NOW: "remind_live"}

#: "We are live" waits this long after go-live, so the waiting room is entered first.
LIVE_NOW_GRACE = timedelta(seconds=60)
#: Slot registrations whose start is further away than this are not told the webinar is live.
LIVE_WINDOW = timedelta(hours=1)

_EXT = "portal.mail.reminders"


@dataclass(frozen=True)
class Planned:
    kind: str
    occurrence: str
    due_at: datetime


# --- the pure rules ----------------------------------------------------------------------------

def occurrence_of(start: datetime) -> str:
    """The ledger occurrence of a start time: ISO UTC to the second."""
    return timefmt.iso_utc(start, seconds=True) or ""


def start_of(reg: Registration, webinar: Webinar) -> datetime | None:
    """When this registrant's webinar begins: an auto webinar's chosen start (None for
    watch-now), a live one's slot or scheduled time."""
    if webinar.type == WebinarType.auto.value:
        return reg.starts_at
    if reg.slot_id is not None and reg.slot is not None:
        return reg.slot.starts_at
    return webinar.scheduled_at


def planned(webinar: Webinar, start: datetime | None, *, now: datetime) -> list[Planned]:
    """The reminders a registrant starting at `start` gets, as of `now` (past ones left out)."""
    if start is None:
        return []
    if webinar.type == WebinarType.auto.value and start.microsecond != 0:
        # watch-now: portal.autowebinar.schedule.is_watch_now_start's rule (scheduled starts
        # are whole seconds; mail sits below autowebinar, so it cannot ask it)
        return []
    occurrence = occurrence_of(start)
    wanted: list[tuple[str, datetime]] = []
    if webinar.type == WebinarType.auto.value:
        if webinar.remind_1h:
            wanted.append((REMIND_1H, start - timedelta(hours=1)))
        if webinar.remind_live:
            wanted.append((STARTING_NOW, start))
    else:
        if webinar.remind_24h:
            wanted.append((REMIND_24H, start - timedelta(hours=24)))
        if webinar.remind_1h:
            wanted.append((REMIND_1H, start - timedelta(hours=1)))
    return [Planned(kind, occurrence, due) for kind, due in wanted if due > now]


def _parse(iso: str | None) -> datetime | None:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")) if iso else None


# --- queueing (in the cause's transaction) -----------------------------------------------------

def _queue(reg: Registration, item: Planned, *, token: str | None = None, **context: Any) -> None:
    """Queue `item` for `reg`; `token`: the registration's join token as current_tokens()
    gives it (sealed)."""
    if token:
        context[TOKEN_KEY] = token
    queue(reg, item.kind, occurrence=item.occurrence, due_at=item.due_at, context=context or None)


def current_tokens(registration_ids: list[int]) -> dict[int, str]:
    """The newest join token each registration was mailed (confirmation, link recovery, a
    resend: their ledger context keeps it sealed; the table stores only hashes), sealed, in
    one query. A registration without one gets mails that link to "Email me my link" instead."""
    if not registration_ids:
        return {}
    found: dict[int, str] = {}
    rows = db.session.execute(
        select(MailMessage.registration_id, MailMessage.context)
        .where(MailMessage.registration_id.in_(registration_ids), MailMessage.kind.not_in(KINDS))
        .order_by(MailMessage.message_id))
    for registration_id, context in rows:
        context = context or {}
        token = context.get(TOKEN_KEY) or (sealed.seal(context["join_token"]) if context.get("join_token") else None)
        if token:
            found[registration_id] = token  # later rows win: the newest token
    return found


def _reachable(query: Any) -> Any:
    """Registrations that hold a seat (Registration.has_access): not revoked, banned or
    cancelled, and confirmed (not pending approval, declined or on the waiting list)."""
    return query.where(Registration.revoked_at.is_(None), Registration.banned_at.is_(None),
                       Registration.cancelled_at.is_(None), Registration.state == CONFIRMED)


def schedule_registration(reg: Registration, *, now: datetime, token: str | None = None) -> list[Planned]:
    """Queue the reminders of a registration (idempotent); returns what was planned."""
    webinar = reg.webinar
    items = planned(webinar, start_of(reg, webinar), now=now)
    for item in items:
        _queue(reg, item, token=token)
    return items


def registered_rows(envelope: dict[str, Any], private: dict[str, Any], *, sealed_token: str | None,
                    base: str) -> list[dict[str, Any]]:
    """The registration hot path: the ledger rows of its reminders, planned from the event's
    data (rows loaded only for an auto webinar), for the caller to insert with its
    confirmation in one statement (portal.mail._on_event). `sealed_token`: the join token,
    sealed once for every row."""
    data = envelope.get("data") or {}
    webinar = db.session.get(Webinar, envelope["webinar_id"])  # the register() caller's, no query
    if webinar is None:
        return []
    if webinar.type == WebinarType.auto.value:
        reg = db.session.get(Registration, data.get("registration_id"))
        start = reg.starts_at if reg is not None else None
    else:
        start = _parse(data.get("starts_at"))
    context = {TOKEN_KEY: sealed_token} if sealed_token else None
    return [row_values(registration_id=int(data["registration_id"]), webinar_id=webinar.webinar_id,
                       recipient=str(data.get("email") or ""), recipient_name=str(data.get("name") or ""),
                       language=private.get("language"), kind=item.kind, occurrence=item.occurrence,
                       due_at=item.due_at, context=context, base=base)
            for item in planned(webinar, start, now=utcnow())]


def rescheduled(webinar: Webinar, *, now: datetime | None = None) -> int:
    """The webinar's time moved (admin saved a new scheduled_at or duration, which bumped
    `calendar_sequence`): in the admin's transaction, skip the reminders of the old start,
    queue those of the new one and a `rescheduled` notice (updated .ics: same UID, this
    SEQUENCE) per registrant whose start is the webinar's scheduled time (a slot keeps its
    own time; an auto registrant keeps the start they chose)."""
    now = now or utcnow()
    if webinar.type != WebinarType.live.value or webinar.scheduled_at is None:
        return 0
    regs = [r for r in _registrations(webinar) if r.slot_id is None]
    ids = [r.registration_id for r in regs]
    _skip(reg_ids=ids, kinds=TIMED_KINDS, reason="rescheduled", keep_occurrence=occurrence_of(webinar.scheduled_at))
    tokens = current_tokens(ids)
    for reg in regs:
        token = tokens.get(reg.registration_id)
        _queue(reg, Planned(RESCHEDULED, f"seq-{webinar.calendar_sequence}", now), token=token)
        if reg.reminders_unsubscribed_at is None:
            schedule_registration(reg, now=now, token=token)
    count = len(regs)
    log.info("webinar %s rescheduled (sequence %s): %d notices queued",
             webinar.webinar_id, webinar.calendar_sequence, count)
    return count


def requeue(webinar: Webinar, *, now: datetime | None = None) -> int:
    """A reminder switch was turned on: queue what each registrant is due (the ledger's key
    keeps the ones already queued single)."""
    now = now or utcnow()
    regs = [r for r in _registrations(webinar) if r.reminders_unsubscribed_at is None]
    tokens = current_tokens([r.registration_id for r in regs])
    for reg in regs:
        schedule_registration(reg, now=now, token=tokens.get(reg.registration_id))
    return len(regs)


def unsubscribe(reg: Registration, *, now: datetime | None = None) -> bool:
    """Stop reminders to this registration (idempotent); returns False if it already was."""
    if reg.reminders_unsubscribed_at is not None:
        return False
    reg.reminders_unsubscribed_at = now or utcnow()
    _skip(reg_ids=[reg.registration_id], kinds=REMINDER_KINDS, reason="unsubscribed")
    log.info("registration %s unsubscribed from reminders", reg.registration_id)
    return True


def _registrations(webinar: Webinar) -> Iterable[Registration]:
    query = _reachable(select(Registration).where(Registration.webinar_id == webinar.webinar_id))
    query = query.options(joinedload(Registration.lead), joinedload(Registration.slot))
    return db.session.scalars(query.order_by(Registration.registration_id)).unique().all()


def _skip(*, reg_ids: list[int], kinds: Iterable[str], reason: str, keep_occurrence: str | None = None) -> int:
    """Mark the queued rows of these registrations and kinds skipped (not sent, with why)."""
    if not reg_ids:
        return 0
    query = (update(MailMessage)
             .where(MailMessage.registration_id.in_(reg_ids), MailMessage.kind.in_(tuple(kinds)),
                    MailMessage.status == QUEUED)
             .values(status=SKIPPED, last_answer=f"not sent: {reason}")
             .execution_options(synchronize_session=False))
    if keep_occurrence is not None:
        query = query.where(MailMessage.occurrence != keep_occurrence)
    return db.session.execute(query).rowcount  # type: ignore[attr-defined]


# --- at send time ------------------------------------------------------------------------------

def still_wanted(message: MailMessage, reg: Registration) -> str | None:
    """Asked by the sender right before it sends one of these kinds: None to send, else the
    reason it is skipped (unsubscribed, no access, the start moved, cancelled, in the room)."""
    kind = message.kind
    if kind not in KINDS:
        return None
    webinar = reg.webinar
    if not reg.has_access:
        return "no access"
    if kind in REMINDER_KINDS and reg.reminders_unsubscribed_at is not None:
        return "unsubscribed"
    if kind != CANCELLED and was_cancelled(webinar.webinar_id):
        return "cancelled"
    if kind in SWITCH and not getattr(webinar, SWITCH[kind]):
        return "turned off"
    if kind in TIMED_KINDS:
        start = start_of(reg, webinar)
        if start is None or occurrence_of(start) != message.occurrence:
            return "rescheduled"
        if webinar.status in (Status.finished.value, Status.archived.value):
            return "finished"
    if kind == LIVE_NOW:
        if runs.status_for(webinar, start_of(reg, webinar)) != Status.live.value:
            return "not live"  # (their run: a webinar with several start times runs each once)
        if in_room(reg):
            return "in the room"
    return None


def was_cancelled(webinar_id: int) -> bool:
    """Has a cancellation notice been queued for the webinar (`cancelled()` ran)?"""
    return bool(db.session.scalar(select(exists().where(
        MailMessage.webinar_id == webinar_id, MailMessage.kind == CANCELLED))))


def in_room(reg: Registration) -> bool:
    """Has the lead an open attendance row in this webinar (a socket or a polling page)?"""
    return bool(db.session.scalar(select(exists().where(
        Attendance.webinar_id == reg.webinar_id, Attendance.lead_id == reg.lead_id,
        Attendance.left_at.is_(None)))))


def list_unsubscribe(message: MailMessage) -> bool:
    """Does this kind carry List-Unsubscribe?"""
    return message.kind in REMINDER_KINDS


# --- the replay hook ---------------------------------------------------------------------------

def register_replay(app: Flask, link: Callable[[Webinar], str | None]) -> None:
    """A later issue (replays) registers how to find a webinar's replay link."""
    _state(app)["replay"] = link


def replay_link(webinar: Webinar) -> str | None:
    link = _state(current_app).get("replay")
    return link(webinar) if link is not None else None


# --- wiring ------------------------------------------------------------------------------------

def _state(app: Flask) -> dict[str, Any]:
    return app.extensions.setdefault(_EXT, {})


def settle(app: Flask, timeout: float = 30.0) -> bool:
    """Wait until the background queueing jobs ended (tests, shutdown)."""
    return jobs.settle(app, timeout)


def init_app(app: Flask) -> None:
    """Queue with the events, veto at send time, serve the one-click unsubscribe."""
    from portal.mail import compose, kinds
    from portal.mail import unsubscribe as unsubscribe_views

    _state(app)
    from portal.mail import broadcast

    # A registration's reminders are queued with its confirmation (portal.mail._on_event).
    signals.connect(app, signals.event_emitted, broadcast.on_event_emitted)  # cancellation
    signals.connect(app, signals.event_committed, broadcast.on_event_committed)  # go-live, end
    for kind in KINDS:
        kinds.register_still_wanted(app, kind, still_wanted)
    unsubscribe_views.init_app(app)
    compose.register_unsubscribe(app, unsubscribe_views.url_for_registration)


__all__ = ["KINDS", "REMINDER_KINDS", "init_app", "rescheduled", "settle", "still_wanted", "unsubscribe"]
