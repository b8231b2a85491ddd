"""Core Webinars lifecycle: the ONLY writer of `webinar.status` and `webinar.cta_visibility`.

Public hooks (seed 000 / SPEC §6): `core_webinar_set_status(webinar, action, *, actor)` with
action start|stop, and `core_webinar_set_cta_visibility(webinar, visibility, *, actor)`.
Core-internal operations: publish, unpublish, pause, archive, cancel (SPEC §3).

Every call is one unit of work: check permission, apply the transition with a conditional
UPDATE (so concurrent double clicks change and emit once), write the events to the outbox,
commit. Refused transitions raise Conflict and change nothing; repeating the current action
is a no-op that emits nothing.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, update
from sqlalchemy.orm.attributes import set_committed_value

from portal import signals, timefmt
from portal.core import events, runs
from portal.core.guard import core_write
from portal.core.models import CtaVisibility, Status, StreamType, Webinar, WebinarType
from portal.core.permissions import Action, Actor, describe, require
from portal.db_types import utcnow
from portal.errors import N_, Conflict, Invalid, Label
from portal.extensions import db

log = logging.getLogger(__name__)

# `signals.status_changing` is sent inside the transaction of a status change, before
# commit, so other domains write their consequences atomically (attendance closes every row
# and emits client_webinar_left on stop).

# operation -> {from status: to status}; the target of each operation is unique.
TRANSITIONS: dict[str, dict[str, str]] = {
    "publish": {Status.draft.value: Status.scheduled.value},
    "unpublish": {Status.scheduled.value: Status.draft.value},
    "start": {Status.scheduled.value: Status.live.value, Status.paused.value: Status.live.value},
    "pause": {Status.live.value: Status.paused.value},
    "stop": {Status.live.value: Status.finished.value, Status.paused.value: Status.finished.value},
    # A live webinar's run ends and the webinar waits for its next start time (portal.core.runs).
    "end_run": {Status.live.value: Status.scheduled.value, Status.paused.value: Status.scheduled.value},
    "archive": {Status.finished.value: Status.archived.value},
    # issue 12: a scheduled webinar called off, registrants or not (no run, no webinar_completed)
    "cancel": {Status.scheduled.value: Status.archived.value},
}
TARGET = {op: next(iter(set(moves.values()))) for op, moves in TRANSITIONS.items()}
PERMISSION = {
    "publish": Action.PUBLISH,
    "unpublish": Action.PUBLISH,
    "start": Action.CONTROL,
    "stop": Action.CONTROL,
    "end_run": Action.CONTROL,
    "pause": Action.PAUSE,
    "archive": Action.ARCHIVE,
    "cancel": Action.ARCHIVE,
}
HOOK_ACTIONS = ("start", "stop")
# The vocabulary refusals carry as parameters, marked so the catalogue translates it.
VOCABULARY = (
    N_("draft"), N_("scheduled"), N_("live"), N_("paused"), N_("finished"), N_("archived"),
    N_("publish"), N_("unpublish"), N_("start"), N_("pause"), N_("stop"), N_("archive"),
    N_("cancel"),
)


@dataclass(frozen=True)
class Outcome:
    """What a Core call did: `changed` is False for an idempotent repeat."""

    changed: bool
    before: str
    after: str


def core_webinar_set_status(webinar: Webinar, action: str, *, actor: Actor,
                            starts_at: datetime | None = None) -> Outcome:
    """Public hook: start or stop a webinar (SPEC §3).

    A live webinar with several start times runs once per time: `start` runs `starts_at` (one
    of the times not run yet; default the first of them), `stop` ends that run and, while
    later times remain, sends the webinar back to `scheduled` (portal.core.runs)."""
    if action not in HOOK_ACTIONS:
        raise Invalid("Unknown action %(action)r: use start or stop.", details={"action": action}, action=action)
    if action == "stop" and runs.has_runs(webinar):
        require(actor, PERMISSION["stop"], webinar)
        if webinar.status == Status.scheduled.value and webinar.run_starts_at is not None:
            return Outcome(False, webinar.status, webinar.status)  # that run ended already: a repeat
        if webinar.status in runs.RUNNING and runs.later_left(webinar):
            return _transition(webinar, "end_run", actor=actor)
    if action == "start" and runs.has_runs(webinar) and webinar.status == Status.scheduled.value:
        # The times as stored now (an organizer may have moved one since this object was read).
        db.session.refresh(webinar, ["scheduled_at", "slots", "run_starts_at"])
        return _transition(webinar, "start", actor=actor, run=_run_to_start(webinar, starts_at))
    return _transition(webinar, action, actor=actor)


def _run_to_start(webinar: Webinar, starts_at: datetime | None) -> datetime | None:
    """The start time a `start` runs: the one named, if it has not run yet, else the next."""
    left = runs.remaining(webinar)
    if starts_at is None:
        return left[0] if left else None
    if starts_at not in left:
        raise Invalid("That start time has already run or is not one of this webinar's times.",
                      details={"starts_at": starts_at.isoformat()})
    return starts_at


def publish(webinar: Webinar, *, actor: Actor) -> Outcome:
    """Core: draft -> scheduled, once the webinar has what attendees need."""
    require(actor, PERMISSION["publish"], webinar)
    if webinar.status == Status.draft.value:
        missing = publish_blockers(webinar, now=utcnow())
        if missing:
            raise Conflict("The webinar cannot be published yet. Missing: %(missing)s.",
                           details={"missing": missing}, missing=[Label(m) for m in missing])
    return _transition(webinar, "publish", actor=actor)


def unpublish(webinar: Webinar, *, actor: Actor) -> Outcome:
    """Core: scheduled -> draft, only while nobody has registered (registration refuses it
    through `signals.status_requested`)."""
    return _transition(webinar, "unpublish", actor=actor)


def pause(webinar: Webinar, *, actor: Actor) -> Outcome:
    """Core: technical break (live -> paused). Not a public hook."""
    return _transition(webinar, "pause", actor=actor)


def archive(webinar: Webinar, *, actor: Actor) -> Outcome:
    """Core: finished -> archived (organizer, admin or the retention job)."""
    return _transition(webinar, "archive", actor=actor)


def cancel(webinar: Webinar, *, actor: Actor) -> Outcome:
    """Core: scheduled -> archived, marked cancelled (`cancelled_at`, a new calendar
    revision); the event says `reason: "cancelled"` so mail tells the registrants and pages
    say "cancelled". Nothing ran, so no `webinar_completed`."""
    return _transition(webinar, "cancel", actor=actor)


def core_webinar_set_cta_visibility(webinar: Webinar, visibility: str, *, actor: Actor) -> Outcome:
    """Public hook: show or hide the call-to-action."""
    if visibility not in {v.value for v in CtaVisibility}:
        raise Invalid("Unknown CTA visibility %(visibility)r: use visible or hidden.",
                      details={"visibility": visibility}, visibility=visibility)
    require(actor, Action.SET_CTA, webinar)
    before = webinar.cta_visibility
    if before == visibility:
        return Outcome(False, before, before)
    if webinar.status == Status.archived.value:
        raise Conflict("The webinar is archived; its call-to-action can no longer change.")
    if visibility == CtaVisibility.visible.value and not (webinar.cta_url and webinar.cta_text):
        raise Conflict("Set the call-to-action text and link before showing it.")
    with core_write():
        result = db.session.execute(
            update(Webinar)
            .where(Webinar.webinar_id == webinar.webinar_id, Webinar.cta_visibility == before)
            .values(cta_visibility=visibility, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
    if cast("CursorResult[Any]", result).rowcount != 1:  # an UPDATE's result has a row count
        return _lost_race(webinar, "cta_visibility", visibility)
    set_committed_value(webinar, "cta_visibility", visibility)
    events.emit(
        "webinar_cta_visibility_changed",
        webinar_id=webinar.webinar_id,
        data={"from": before, "to": visibility, "actor": describe(actor)},
    )
    db.session.commit()
    log.info("webinar %s CTA %s -> %s by %r", webinar.webinar_id, before, visibility, actor)
    return Outcome(True, before, visibility)


def publish_blockers(webinar: Webinar, *, now: datetime) -> list[str]:
    """What is missing before a draft can be published (empty when it can)."""
    missing: list[str] = []
    if not (webinar.title or "").strip():
        missing.append(N_("a title"))
    if webinar.type == WebinarType.live.value:
        starts: list[datetime | None] = [s.starts_at for s in webinar.slots] or [webinar.scheduled_at]
        if not any(t is not None and t > now for t in starts):
            missing.append(N_("a start time in the future"))
        if webinar.stream_type not in {s.value for s in StreamType} or not webinar.stream_url:
            missing.append(N_("a stream (type and URL)"))
    else:
        if not webinar.recording_url:
            missing.append(N_("a recording"))
        if not webinar.auto_schedule:
            missing.append(N_("a schedule"))
    return missing


def _transition(webinar: Webinar, op: str, *, actor: Actor, run: datetime | None = None) -> Outcome:
    require(actor, PERMISSION[op], webinar)
    before, target = webinar.status, TARGET[op]
    if before == target:
        return Outcome(False, before, before)
    if before not in TRANSITIONS[op]:
        raise Conflict(
            "Cannot %(operation)s a webinar that is %(status)s.",
            details={"operation": op, "status": before}, operation=Label(op), status=Label(before),
        )
    signals.send(signals.status_requested, webinar, from_status=before, to_status=target, actor=actor)
    now = utcnow()
    values: dict[str, object] = {"status": target, "updated_at": now}
    if op == "start" and (webinar.started_at is None or run is not None):
        values["started_at"] = now  # a new run starts its own clock (the completion rule's)
    if run is not None:
        values["run_starts_at"] = run
    if op in ("stop", "end_run"):
        values["finished_at"] = now
    if op == "cancel":  # the calendar entries are withdrawn with a higher SEQUENCE (METHOD:CANCEL)
        values.update(cancelled_at=now, calendar_sequence=(webinar.calendar_sequence or 0) + 1)
    with core_write():
        result = db.session.execute(
            update(Webinar)
            .where(Webinar.webinar_id == webinar.webinar_id, Webinar.status == before)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
    if cast("CursorResult[Any]", result).rowcount != 1:  # an UPDATE's result has a row count
        return _lost_race(webinar, "status", target)
    for key, value in values.items():
        set_committed_value(webinar, key, value)
    signals.send(signals.status_changing, webinar, from_status=before, to_status=target, actor=actor)
    session_id = runs.current_session_id(webinar)
    data: dict[str, object] = {"from": before, "to": target, "actor": describe(actor)}
    if op == "cancel":
        data["reason"] = "cancelled"
    several = session_id is not None and len(runs.start_times(webinar)) > 1
    if several:  # which run changed (one start time: the envelope keeps its old shape)
        data["run_starts_at"] = timefmt.iso_utc(webinar.run_starts_at)
    events.emit("webinar_status_changed", webinar_id=webinar.webinar_id,
                session_id=session_id if several else None, data=data)
    if op in ("stop", "end_run"):
        events.emit("webinar_completed", webinar_id=webinar.webinar_id, session_id=session_id,
                    data={"type": webinar.type})
    db.session.commit()
    log.info("webinar %s %s: %s -> %s by %r", webinar.webinar_id, op, before, target, actor)
    return Outcome(True, before, target)


def _lost_race(webinar: Webinar, field: str, wanted: str) -> Outcome:
    """Another request changed the row first: a no-op if it reached our target, else 409."""
    db.session.rollback()
    db.session.refresh(webinar)
    now_value = getattr(webinar, field)
    if now_value == wanted:
        return Outcome(False, now_value, now_value)
    raise Conflict("The webinar changed meanwhile (now %(status)s); reload and try again.", status=Label(now_value))
