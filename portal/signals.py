"""Every in-process signal of the portal, in one place: who sends it, with what, and when.

Lower layers announce, higher layers subscribe (STYLE.md's layer order), so a domain can react
to a lower one without the lower one importing it. Two kinds of timing:

- *in the transaction* (`status_requested`, `status_changing`, `event_emitted`): receivers refuse a change
  before it is written, or write its consequences into the sender's transaction so the
  change and its consequences commit together;
- *after the commit* (everything else): sent by `after_commit()` once the transaction that
  queued them has committed, never after a rollback. Receivers run inside SQLAlchemy's
  after-commit hook where the committing session may not run SQL: they read through
  `portal.dbsession.fresh_session()`. A receiver that fails is logged; it never undoes the
  committed change nor stops the other receivers.

Receivers are connected by each domain's `init_app(app)` (see portal/__init__.py) and get the
app as `app=` so they can tell which app's state to use (tests build several apps).
"""
from __future__ import annotations

import logging
from typing import Any

from blinker import Namespace, Signal
from flask import Flask, current_app
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session, SessionTransaction

from portal.extensions import db

log = logging.getLogger(__name__)

_ns = Namespace()

# --- core --------------------------------------------------------------------------------------
#: Before a status change is written (nothing written yet): sender the Webinar; kwargs
#: from_status, to_status, actor. A receiver refuses the change by raising a PortalError
#: (registration refuses scheduled -> draft once someone registered). Sent by
#: portal.core.lifecycle only.
status_requested: Signal = _ns.signal("core.status-requested")

#: In the status transaction, before Core's events: sender the Webinar;
#: kwargs from_status, to_status, actor. Sent by portal.core.lifecycle only.
status_changing: Signal = _ns.signal("core.status-changing")

#: After commit, once per outbox event: sender the SPEC §6 envelope (dict); kwargs app.
#: Sent by portal.core.events only (`emit` queues it in the event's transaction).
event_committed: Signal = _ns.signal("core.event-committed")

#: In the transaction, as each event is written to the outbox: sender the SPEC §6 envelope
#: (dict); kwargs app, private (dict: facts the emitter hands its in-transaction receivers but
#: never writes to the outbox — registration passes {"join_token", "language"} with
#: client_webinar_registered). Receivers write consequences into the same transaction (mail
#: queues the confirmation); an exception rolls the whole change back. Sent by
#: portal.core.events only (`emit`).
event_emitted: Signal = _ns.signal("core.event-emitted")

# --- core: accounts -------------------------------------------------------------------------
#: After commit of a transaction that ended a staff member's sessions (logout, password reset,
#: role change, disabling) or took them off a webinar: sender the user_id (int); kwargs app,
#: webinar_ids (tuple of ints: the webinars whose console they could open, or the one they
#: were taken off), reason (str, shown as the socket's close reason). The console closes
#: their sockets on those webinars. Sent by portal.core.users only.
sessions_ended: Signal = _ns.signal("core.sessions-ended")

# --- registration: join links ------------------------------------------------------------------
#: After commit of a transaction that rotated a registrant's join token outside the organizer's
#: pages ("Email me my link"): sender the registration_id (int); kwargs app, webinar_id,
#: lead_id. The room closes the old link's open sockets (LINK_REISSUED). Sent by
#: portal.mail.recovery only (the organizer's re-issue closes them itself).
join_link_rotated: Signal = _ns.signal("registration.join-link-rotated")

#: In the transaction that gave a seat back (a registrant cancelled, was revoked or declined)
#: of a webinar with a capacity: sender the Registration. The organizer's waiting list tells
#: the first waiting person of that start time by mail (portal.admin.waitlist), in the same
#: transaction. Sent by portal.registration.seats only (`free`).
seat_freed: Signal = _ns.signal("registration.seat-freed")

# --- attendance ----------------------------------------------------------------------------
#: After commit of a transaction that opened or closed attendance rows: sender the
#: webinar_id (int), once per webinar and transaction; kwargs app. Sent by
#: portal.attendance.ledger only.
attendance_changed: Signal = _ns.signal("attendance.changed")

# --- room: chat and moderation -------------------------------------------------------------------
#: After commit of a new chat message: sender its message_id (int); kwargs app, webinar_id.
message_stored: Signal = _ns.signal("room.message-stored")
#: After commit of a message hidden by a moderator: sender its message_id; kwargs app, webinar_id,
#: actor_id (the moderator's user_id, for the audit record).
message_hidden: Signal = _ns.signal("room.message-hidden")
#: After commit of a hidden message a moderator showed again (hidden -> visible): sender its
#: message_id; kwargs app, webinar_id, actor_id (for the audit record, action "unhide").
message_unhidden: Signal = _ns.signal("room.message-unhidden")
#: After commit of a mute, unmute, ban or unban: sender the webinar_id (int); kwargs app,
#: lead_id, banned (bool: the lead's sockets must close), action ("mute" | "unmute" | "ban" |
#: "unban") and actor_id (the moderator's user_id), both for the audit record.
moderation_changed: Signal = _ns.signal("room.moderation-changed")

# --- qa: questions (issue 13) ---------------------------------------------------------------------
#: After commit of a question asked, voted on, moderated or answered, or of a webinar's Q&A
#: setting: sender the webinar_id (int); kwargs app, question_id (int | None), author_id
#: (int | None: the asker, whose own view changed), public (bool: the list every attendee sees
#: changed), action ("ask" | "vote" | "approve" | "hide" | "unhide" | "answering" | "answered"
#: | "reopen" | "answer" | "settings") and actor_id (the host's user_id, or None). Sent by
#: portal.qa.questions only; portal.qa.push renders the room's and console's Q&A regions.
question_changed: Signal = _ns.signal("qa.question-changed")
# --- polls ------------------------------------------------------------------------------------
#: After commit of a poll created, opened, closed or deleted: sender its poll_id (int); kwargs
#: app, webinar_id, change ("created" | "opened" | "closed" | "deleted"). Sent by
#: portal.polls.service only; the room and console show it (portal.polls.push).
poll_changed: Signal = _ns.signal("polls.poll-changed")
#: After commit of an attendee's answer (new or changed): sender the poll_id (int); kwargs app,
#: webinar_id, cohort (str: "" live, an auto webinar's cohort). Sent by portal.polls.service
#: only; results pushes are coalesced (portal.polls.push).
poll_answered: Signal = _ns.signal("polls.poll-answered")

# --- room: the polling fallback ------------------------------------------------------------------
#: A room page polled its state fragment with a player report (its socket is down): sender the
#: join token (str); kwargs app, report (the page's X-Player-Report header, untrusted text).
#: Sent now (not after a commit) by portal.room.views.state, before its 304; the health panel
#: (portal.health) counts the page's player from it.
room_polled: Signal = _ns.signal("room.polled")

# --- admin: the organizer's edits ----------------------------------------------------------------
#: After commit of an organizer's edit of an existing webinar: sender the webinar_id (int);
#: kwargs app, fields (tuple of the Webinar attributes whose value changed, e.g. "scheduled_at",
#: "cta_text", "stream_url", "show_attendee_count"). Sent by portal.admin.webinars (and by
#: portal.media.recordings for "recording_url" / "recording_duration_sec"); rooms and consoles
#: re-render the regions those fields show (portal.room.push, portal.console.push).
webinar_edited: Signal = _ns.signal("admin.webinar-edited")

# --- media: recordings ---------------------------------------------------------------------------
#: After commit of a recording attached to a webinar (upload or link, duration read from the
#: file): sender the webinar_id (int); kwargs app, recording_id, replay (bool: an ended live
#: webinar's replay, so registrants may be told it is ready). Sent by portal.media.recordings.
recording_attached: Signal = _ns.signal("media.recording-attached")

# --- errors: refusals ----------------------------------------------------------------------------
#: In the request (or socket frame) that is answered with a refusal, after its transaction was
#: rolled back: sender the PortalError; kwargs app, status (int), subject (dict of the ids the
#: caller is known by: user_id, registration_id, lead_id, webinar_id — a socket's admission
#: ids, or empty for an HTTP request, where the receiver reads the request). Sent by
#: portal.errors (`refusal_shown()`) and the realtime transport's handler refusals. The audit
#: writes each in a short transaction of its own.
refusal_shown: Signal = _ns.signal("errors.refusal-shown")

_PENDING = "portal.signals.pending"
_MARKS = "portal.signals.savepoints"


def after_commit(signal: Signal, sender: Any, *, once: bool = False, **kwargs: Any) -> None:
    """Queue `signal.send(sender, app=..., **kwargs)` for after the current transaction commits.

    `once`: a second identical queueing in the same transaction is dropped (several
    attendance rows of one webinar make one "changed"). Queued before anything touched the
    database, it opens the session's transaction, so a rollback drops it.
    """
    session = db.session()
    if not session.in_transaction():
        # Nothing has touched the database yet: begin, so that a rollback before the next
        # commit drops this signal with the rest of the transaction it belongs to.
        session.begin()
    pending: list[tuple[Signal, Any, dict[str, Any]]] = session.info.setdefault(_PENDING, [])
    item = (signal, sender, kwargs)
    if once and any(p[0] is signal and p[1] == sender and p[2] == kwargs for p in pending):
        return
    pending.append(item)


def pending(session: Session) -> list[tuple[Signal, Any, dict[str, Any]]]:
    """The after-commit signals queued in `session`'s transaction so far, as (signal, sender,
    kwargs) — read, never changed, by a `before_commit` listener (the audit records the
    queued moderation and status actions in the transaction that commits them)."""
    return list(session.info.get(_PENDING, ()))


def send(signal: Signal, sender: Any, **kwargs: Any) -> None:
    """Send an in-transaction signal now, to the current app's receivers."""
    signal.send(sender, app=current_app._get_current_object(), **kwargs)  # type: ignore[attr-defined]


def _announce(session: Session) -> None:
    # SQLAlchemy sends after_commit for a SAVEPOINT's release too: the outer transaction has
    # not committed yet (and may still roll back), so its queue waits for the real commit.
    if session.in_nested_transaction():
        return
    pending = session.info.pop(_PENDING, [])
    if not pending:
        return
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    for signal, sender, kwargs in pending:
        try:
            signal.send(sender, app=app, **kwargs)
        except Exception:  # a subscriber must never undo a committed change
            log.exception("a receiver of %s failed for %r", signal.name, sender)


def _mark_savepoint(session: Session, transaction: SessionTransaction) -> None:
    """A savepoint begins: remember how many signals were queued before it."""
    if transaction.nested:
        session.info.setdefault(_MARKS, {})[transaction] = len(session.info.get(_PENDING, ()))


def _discard(session: Session, previous_transaction: SessionTransaction) -> None:
    """A rollback drops what its transaction queued: a savepoint only its own signals (the
    outer transaction may still commit the rest), the outermost transaction everything."""
    marks = session.info.get(_MARKS, {})
    if previous_transaction.nested:
        mark = marks.pop(previous_transaction, None)
        if mark is not None and _PENDING in session.info:
            del session.info[_PENDING][mark:]
    elif previous_transaction.parent is None:
        session.info.pop(_PENDING, None)
        marks.clear()


def _forget_marks(session: Session) -> None:
    if not session.in_nested_transaction():
        session.info.pop(_MARKS, None)


def init_app(app: Flask) -> None:
    """Send the queued signals after each commit (the listeners are per process, set once)."""
    if not sa_event.contains(Session, "after_commit", _announce):
        sa_event.listen(Session, "after_commit", _announce)
        sa_event.listen(Session, "after_commit", _forget_marks)
        sa_event.listen(Session, "after_transaction_create", _mark_savepoint)
        sa_event.listen(Session, "after_soft_rollback", _discard)


def connect(app: Flask, signal: Signal, receiver: Any) -> None:
    """Connect `receiver(sender, **kwargs)` for this app only (other apps' sends pass it by)."""

    def scoped(sender: Any, **kwargs: Any) -> None:
        if kwargs.get("app", app) is app:
            receiver(sender, **kwargs)

    scoped.__name__ = getattr(receiver, "__name__", "receiver")
    scoped.__qualname__ = getattr(receiver, "__qualname__", scoped.__name__)
    # Keep the wrapper alive as long as the app: blinker holds receivers weakly.
    app.extensions.setdefault("portal.signals", []).append(scoped)
    signal.connect(scoped)
