"""The audit record: every refusal shown to someone and every moderator or status action, with
who (staff user, registration / lead, client address), what (action, msgid, status) and which
webinar; shown to the webinar's organizer on its admin page (portal.admin).

The audit sits at the core's level and imports foundation only; it learns of the actions
through portal/signals.py, so no lower layer knows it:
- moderator and status actions: a `before_commit` listener reads the after-commit signals
  queued in the committing transaction (`signals.pending`) — `event_committed` envelopes of
  `webinar_status_changed` / `webinar_cta_visibility_changed` (actor in `data.actor`),
  `message_hidden`, `message_unhidden`, `moderation_changed` (with `actor_id` / `action`) and
  a host's `question_changed` (Q&A: action "question_<verb>") —
  and adds one row per action to that same transaction: the action and its record commit
  together, or neither;
- join links (revoke, restore, re-issue) are admin actions: admin calls `record()` before its
  commit;
- refusals: `signals.refusal_shown` (sent by portal.errors' handler and by the socket
  transport) is written in a short transaction of its own, since the refused one was rolled
  back. Who is read from the request (signed-in staff, client address) and from the URL's
  join token / slug / webinar id through the resolvers higher layers register
  (`register_subject`). A flood of rate-limit refusals is recorded once per caller, message
  and minute, so refusing cannot become a write amplifier.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from flask import Flask, current_app, has_app_context, has_request_context, request
from flask_login import current_user
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from portal import signals
from portal.audit.models import KINDS, AuditEntry
from portal.db_types import utcnow
from portal.dbsession import fresh_session

log = logging.getLogger(__name__)

STATE = "portal.audit"
_DONE = "portal.audit.done"  # session.info: how many queued signals were already recorded
RATE_LIMITED_EVERY = 60.0  # seconds between two records of the same caller's same 429
STATUS_ACTIONS = {"live": "start", "finished": "stop", "paused": "pause", "draft": "unpublish",
                  "archived": "archive"}

__all__ = ["AuditEntry", "KINDS", "init_app", "record", "register_subject"]

Subject = dict[str, int]
Resolver = Callable[[str], Subject | None]


class AuditState:
    """Per app: the subject resolvers by URL argument, and the recent 429s already recorded."""

    def __init__(self) -> None:
        self.resolvers: dict[str, Resolver] = {}
        self._recent: dict[tuple[Any, ...], float] = {}
        self._lock = threading.Lock()

    def first_in_window(self, key: tuple[Any, ...]) -> bool:
        now = time.monotonic()
        with self._lock:
            if len(self._recent) > 10_000:
                self._recent = {k: t for k, t in self._recent.items() if now - t < RATE_LIMITED_EVERY}
            last = self._recent.get(key)
            if last is not None and now - last < RATE_LIMITED_EVERY:
                return False
            self._recent[key] = now
            return True


def init_app(app: Flask) -> None:
    app.extensions[STATE] = AuditState()
    signals.connect(app, signals.refusal_shown, on_refusal)
    if not sa_event.contains(Session, "before_commit", _record_queued_actions):
        sa_event.listen(Session, "before_commit", _record_queued_actions)
        sa_event.listen(Session, "after_commit", _forget)
        sa_event.listen(Session, "after_rollback", _forget)


def register_subject(app: Flask, view_arg: str, resolver: Resolver) -> None:
    """`resolver(value of the URL argument view_arg)` -> the ids it names (registration_id,
    lead_id, webinar_id) or None; read for a refusal's "who" and "which webinar"."""
    app.extensions[STATE].resolvers[view_arg] = resolver


def record(session: Any, *, kind: str, action: str, webinar_id: int | None, actor_user_id: int | None = None,
           registration_id: int | None = None, lead_id: int | None = None, client: str | None = None,
           status_code: int | None = None, message: str | None = None,
           detail: dict[str, Any] | None = None) -> AuditEntry:
    """Add one audit row to `session` (its caller's transaction commits it)."""
    if kind not in KINDS:
        raise ValueError(f"unknown audit kind {kind!r}")
    if client is None and has_request_context():
        client = _client()
    entry = AuditEntry(occurred_at=utcnow(), kind=kind, action=action[:40], webinar_id=webinar_id,
                       actor_user_id=actor_user_id, registration_id=registration_id, lead_id=lead_id,
                       client=client, status_code=status_code, message=message, detail=detail or None)
    session.add(entry)
    return entry


def _client() -> str | None:
    return (request.remote_addr or "")[:64] or None


# --- moderator and status actions: in their own transaction ------------------------------------

def _record_queued_actions(session: Session) -> None:
    if not has_app_context() or STATE not in current_app.extensions:
        return
    queued = signals.pending(session)
    done = session.info.get(_DONE, 0)
    for signal, sender, kwargs in queued[done:]:
        fields = _action_of(signal, sender, kwargs)
        if fields is not None:
            record(session, **fields)
    session.info[_DONE] = len(queued)


def _forget(session: Session) -> None:
    session.info.pop(_DONE, None)


def _action_of(signal: Any, sender: Any, kwargs: dict[str, Any]) -> dict[str, Any] | None:
    """The audit row of one queued signal, or None when it is not an audited action."""
    if signal is signals.message_hidden or signal is signals.message_unhidden:
        return {"kind": "moderation", "action": "hide" if signal is signals.message_hidden else "unhide",
                "webinar_id": kwargs.get("webinar_id"), "actor_user_id": kwargs.get("actor_id"),
                "detail": {"message_id": sender}}
    if signal is signals.moderation_changed:
        action = kwargs.get("action") or ("ban" if kwargs.get("banned") else "mute")
        return {"kind": "moderation", "action": action, "webinar_id": sender,
                "actor_user_id": kwargs.get("actor_id"), "lead_id": kwargs.get("lead_id")}
    if signal is signals.question_changed and kwargs.get("actor_id") is not None:  # a host's Q&A action
        return {"kind": "moderation", "action": f"question_{kwargs.get('action')}", "webinar_id": sender,
                "actor_user_id": kwargs.get("actor_id"), "lead_id": kwargs.get("author_id"),
                "detail": {"question_id": kwargs.get("question_id")}}
    if signal is not signals.event_committed or not isinstance(sender, dict):
        return None
    data = sender.get("data") or {}
    actor = data.get("actor") or {}
    common = {"webinar_id": sender.get("webinar_id"), "actor_user_id": actor.get("user_id"),
              "detail": {"from": data.get("from"), "to": data.get("to"), "actor": actor.get("type")}}
    if sender.get("event") == "webinar_status_changed":
        to = data.get("to")
        action = "publish" if to == "scheduled" and data.get("from") == "draft" else STATUS_ACTIONS.get(to, str(to))
        if data.get("reason") == "cancelled":
            action = "cancel"
        return {"kind": "status", "action": action, **common}
    if sender.get("event") == "webinar_cta_visibility_changed":
        return {"kind": "cta", "action": "show" if data.get("to") == "visible" else "hide", **common}
    return None


# --- refusals: in a short transaction of their own -------------------------------------------

def on_refusal(error: Any, *, app: Flask, status: int, subject: dict[str, Any], **_: Any) -> None:
    """Write the refusal's row (never raises: the refusal itself must still be shown)."""
    try:
        who = dict(subject)
        client = None
        if has_request_context():
            client = _client()
            if not who:
                who = _subject_of_request(app)
        if status == 429 and not app.extensions[STATE].first_in_window(
                (error.msgid, client, who.get("registration_id"), who.get("user_id"))):
            return
        detail: dict[str, Any] = {"code": error.code}
        if has_request_context():
            detail["path"] = request.path[:200]
            detail["method"] = request.method
        with fresh_session(app) as session:
            record(session, kind="refusal", action=error.code, webinar_id=who.get("webinar_id"),
                   actor_user_id=who.get("user_id"), registration_id=who.get("registration_id"),
                   lead_id=who.get("lead_id"), client=client, status_code=status, message=error.message[:1000],
                   detail=detail)
            session.commit()
    except Exception:  # noqa: BLE001 - logged; the user still sees the refusal
        log.exception("could not record the refusal %r", getattr(error, "msgid", error))


def _subject_of_request(app: Flask) -> dict[str, Any]:
    """Who an HTTP request is: the signed-in staff member and what the URL names."""
    who: dict[str, Any] = {}
    try:
        if current_user.is_authenticated:
            who["user_id"] = current_user.user_id
    except Exception:  # noqa: BLE001 - no signed-in user is a fine answer
        log.debug("no user for the refusal", exc_info=True)
    view_args = request.view_args or {}
    webinar_id = view_args.get("webinar_id")
    if isinstance(webinar_id, int):
        who["webinar_id"] = webinar_id
    for name, resolver in app.extensions[STATE].resolvers.items():
        value = view_args.get(name)
        if isinstance(value, str):
            found = resolver(value)
            if found:
                who = {**found, **who}
    return who
