"""Mails to every registrant of a webinar at once: "we are live", "thank you", "cancelled".

Go-live and the end queue their mails after the status commit, in a background job
(portal.mail.jobs), never in the status transaction (issue 9 point 16: thousands of ledger
rows there held the go-live push and SQLite's write lock). The job reads the registrants in
pages of BATCH (plain columns, no ORM objects) and writes each page with ONE multi-row
`insert ... on conflict do nothing` (portal.mail.ledger.insert_rows: exactly once per
(registration, kind, occurrence), a re-run writes nothing), commits, then sleeps PAUSE. It
never yields while a write transaction is open, and its writes wait for another greenlet's
behind portal.sqlite_gate, not in SQLite's busy handler (which would stop the whole process).

The price: a process killed between the status commit and the last page loses that run's
remaining mails (the unique key makes a retry harmless).

Cancellation (SPEC §3: Core `cancel`, `webinar_status_changed` scheduled → archived with
`data.reason = "cancelled"`) is heard through the in-transaction `event_emitted`: the
notices are written in the cancel's own transaction (no change without its notices) and the
queued reminders are skipped there too.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from flask import Flask
from sqlalchemy import Row, select, update

from portal.core import runs
from portal.core.models import Status, User, Webinar, WebinarSlot, WebinarType
from portal.db_types import utcnow
from portal.extensions import db
from portal.mail import jobs
from portal.mail.ledger import TOKEN_KEY, base_url, insert_rows, row_values
from portal.mail.models import QUEUED, SKIPPED, MailMessage
from portal.mail.reminders import (
    CANCELLED,
    LIVE_NOW,
    LIVE_NOW_GRACE,
    LIVE_WINDOW,
    REMINDER_KINDS,
    THANK_YOU,
    current_tokens,
    occurrence_of,
    replay_link,
)
from portal.registration.models import CONFIRMED, Registration

log = logging.getLogger(__name__)

BATCH = 500  # ledger rows per statement (and per transaction in the background)
PAUSE = 0.005  # seconds between two committed pages: the room's requests and pushes run


def _recipients(webinar_id: int, *, after: int, limit: int, subscribed_only: bool) -> Sequence[Row[Any]]:
    """The next page of reachable registrants (id order), as plain rows."""
    query = (select(Registration.registration_id, Registration.language, WebinarSlot.starts_at.label("slot_start"),
                    User.email, User.display_name)
             .join(User, User.user_id == Registration.lead_id)
             .outerjoin(WebinarSlot, WebinarSlot.slot_id == Registration.slot_id)
             .where(Registration.webinar_id == webinar_id, Registration.registration_id > after,
                    Registration.revoked_at.is_(None), Registration.banned_at.is_(None),
                    Registration.cancelled_at.is_(None), Registration.state == CONFIRMED)
             .order_by(Registration.registration_id).limit(limit))
    if subscribed_only:
        query = query.where(Registration.reminders_unsubscribed_at.is_(None))
    return db.session.execute(query).all()  # type: ignore[return-value]


def _fan_out(webinar_id: int, build: Callable[[Sequence[Row[Any]]], list[dict[str, Any]]], *,
             subscribed_only: bool, commit: bool) -> int:
    """Queue build(page) for every page of registrants; commit and pause after each page when
    `commit` (background), else leave it all in the caller's transaction."""
    written, after = 0, 0
    while True:
        page = _recipients(webinar_id, after=after, limit=BATCH, subscribed_only=subscribed_only)
        if not page:
            return written
        after = page[-1].registration_id
        rows = build(page)
        if not commit:
            written += insert_rows(rows)
            continue
        db.session.commit()  # end the read: the write below runs on a connection of its own
        written += _write_page(rows)
        time.sleep(PAUSE)  # yields under gevent, with no transaction open


def _write_page(rows: list[dict[str, Any]]) -> int:
    """Insert one page in a transaction of its own (on SQLite, behind portal.sqlite_gate like
    every writer: a greenlet holding the write lock is waited for by yielding to it)."""
    with db.engine.begin() as connection:
        return insert_rows(rows, connection)


def went_live(webinar: Webinar, *, now: datetime, commit: bool = False, base: str | None = None) -> int:
    """Queue "we are live" to the registrants of the session that starts (not to those of a
    slot more than LIVE_WINDOW later), due LIVE_NOW_GRACE later; the sender skips those in
    the room by then (reminders.still_wanted). Returns the rows written."""
    if webinar.type != WebinarType.live.value or not webinar.remind_live:
        return 0
    webinar_id, scheduled = webinar.webinar_id, webinar.scheduled_at
    occurrence, due, base = occurrence_of(webinar.started_at or now), now + LIVE_NOW_GRACE, base or base_url()
    several = runs.has_runs(webinar) and len(runs.start_times(webinar)) > 1  # only the running time's registrants

    def build(page: Sequence[Row[Any]]) -> list[dict[str, Any]]:
        tokens = current_tokens([r.registration_id for r in page])
        rows = []
        for r in page:
            start = r.slot_start or scheduled
            if (start is not None and start > now + LIVE_WINDOW) or (several and not runs.in_run(webinar, start)):
                continue  # another start time's registrant: their own run tells them (portal.core.runs)
            token = tokens.get(r.registration_id)
            rows.append(row_values(
                registration_id=r.registration_id, webinar_id=webinar_id, recipient=r.email,
                recipient_name=r.display_name or "", language=r.language, kind=LIVE_NOW, occurrence=occurrence,
                due_at=due, context={TOKEN_KEY: token} if token else None, base=base, now=now))
        return rows

    count = _fan_out(webinar_id, build, subscribed_only=True, commit=commit)
    log.info("webinar %s live: %d 'we are live' mails queued", webinar_id, count)
    return count


def completed(webinar: Webinar, *, now: datetime, commit: bool = False, base: str | None = None) -> int:
    """Queue the thank-you to every subscribed registrant (with the replay link if any)."""
    webinar_id, occurrence, base = webinar.webinar_id, occurrence_of(webinar.finished_at or now), base or base_url()
    context = {"replay_url": replay_link(webinar)}
    # Several start times: the run that ended thanks its own registrants only.
    run = webinar.run_starts_at if runs.has_runs(webinar) and len(runs.start_times(webinar)) > 1 else None
    scheduled = webinar.scheduled_at

    def build(page: Sequence[Row[Any]]) -> list[dict[str, Any]]:
        return [row_values(registration_id=r.registration_id, webinar_id=webinar_id, recipient=r.email,
                           recipient_name=r.display_name or "", language=r.language, kind=THANK_YOU,
                           occurrence=occurrence, context=context, base=base, now=now) for r in page
                if run is None or (r.slot_start or scheduled) == run]

    count = _fan_out(webinar_id, build, subscribed_only=True, commit=commit)
    log.info("webinar %s completed: %d thank-you mails queued", webinar_id, count)
    return count


def cancelled(webinar: Webinar, *, now: datetime | None = None) -> int:
    """The webinar is cancelled: in the caller's transaction, every queued reminder skipped and
    a `cancelled` notice (.ics METHOD:CANCEL, SEQUENCE above the last REQUEST) to every
    registrant, unsubscribed ones included (a notice, not a reminder). The notices are the
    durable mark: reminders.still_wanted refuses any reminder of a webinar that has one."""
    now = now or utcnow()
    webinar_id, occurrence, base = webinar.webinar_id, f"seq-{webinar.calendar_sequence}", base_url()
    db.session.execute(
        update(MailMessage)
        .where(MailMessage.webinar_id == webinar_id, MailMessage.kind.in_(REMINDER_KINDS), MailMessage.status == QUEUED)
        .values(status=SKIPPED, last_answer="not sent: cancelled").execution_options(synchronize_session=False))

    def build(page: Sequence[Row[Any]]) -> list[dict[str, Any]]:
        return [row_values(registration_id=r.registration_id, webinar_id=webinar_id, recipient=r.email,
                           recipient_name=r.display_name or "", language=r.language, kind=CANCELLED,
                           occurrence=occurrence, base=base, now=now) for r in page]  # no link: it is off

    count = _fan_out(webinar_id, build, subscribed_only=False, commit=False)
    log.info("webinar %s cancelled: %d notices queued", webinar_id, count)
    return count


def is_cancellation(envelope: dict[str, Any]) -> bool:
    """Core's cancel as SPEC §3 states it: scheduled → archived, `data.reason = "cancelled"`."""
    data = envelope.get("data") or {}
    return (envelope.get("event") == "webinar_status_changed" and data.get("to") == Status.archived.value
            and (data.get("reason") == "cancelled" or data.get("from") == Status.scheduled.value))


def on_event_emitted(envelope: dict[str, Any], **_: Any) -> None:
    """In the emitting transaction: a cancellation queues its notices with it."""
    if is_cancellation(envelope):
        webinar = db.session.get(Webinar, int(envelope["webinar_id"]))
        if webinar is not None:
            cancelled(webinar)


def on_event_committed(envelope: dict[str, Any], *, app: Flask, **_: Any) -> None:
    """After go-live (scheduled → live; a resume from pause is not one) or the end of a live
    webinar committed: queue its mails in the background (module docstring)."""
    name, data = envelope.get("event"), envelope.get("data") or {}
    webinar_id = int(envelope["webinar_id"])
    # base_url(): the request's origin, if any (the job has no request); only for these two,
    # not for every event (every registration's commit announces one).
    if name == "webinar_status_changed" and data.get("to") == Status.live.value \
            and data.get("from") == Status.scheduled.value:
        base = base_url()
        jobs.start(app, lambda: _run(went_live, webinar_id, base, live_only=False), "went-live")
    elif name == "webinar_completed":
        base = base_url()
        jobs.start(app, lambda: _run(completed, webinar_id, base, live_only=True), "completed")


def _run(fn: Callable[..., int], webinar_id: int, base: str, *, live_only: bool) -> None:
    webinar = db.session.get(Webinar, webinar_id)
    if webinar is not None and (not live_only or webinar.type == WebinarType.live.value):
        fn(webinar, now=utcnow(), commit=True, base=base)
        db.session.commit()
