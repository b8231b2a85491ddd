"""Pushes to the room and console channels: rendered once per channel and language.

Sources of pushes:
- Core's committed events (status, CTA visibility): `on_event_committed` renders the changed
  regions and publishes them. It runs inside SQLAlchemy's after-commit hook, where the request's
  session may not run SQL, so it reads through a short-lived session of its own.
- Attendance changes: `attendance_changed` coalesces bursts (a whole room entering at the
  start) into one count/list push per ATTENDANCE_PUSH_INTERVAL seconds per webinar.
- Chat messages and moderation: `chat_message`, `message_hidden`, `moderation_changed`.
The go-live and stop consequences run in the status transaction (`on_status_changing`).
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from flask import Flask, current_app, has_request_context
from flask_babel import force_locale
from sqlalchemy.orm import Session

from portal.core.models import Status, Webinar, WebinarType
from portal.extensions import db
from portal.room import fragments
from portal.room.models import ChatMessage

log = logging.getLogger(__name__)

ATTENDANCE_PUSH_INTERVAL = 1.0  # seconds; app.config["ROOM_ATTENDANCE_PUSH_INTERVAL"] overrides
_timers: dict[int, threading.Timer] = {}
_timers_lock = threading.Lock()


def publish(channel: str, html: str) -> None:
    """Hand one fragment to the realtime layer (a no-op for an empty fragment)."""
    if not html:
        return
    from portal import realtime

    realtime.publish(channel, html)


def room_channel(webinar_id: int) -> str:
    from portal import realtime

    return realtime.room_channel(webinar_id)


def console_channel(webinar_id: int) -> str:
    from portal import realtime

    return realtime.console_channel(webinar_id)


def per_language(render: Callable[[str], str]) -> str:
    """One variant per UI language; each root carries data-lang and the page keeps its own."""
    with _request_context():
        out = []
        for lang in current_app.config["LANGUAGES"]:
            with force_locale(lang):
                out.append(render(lang))
        return "".join(out)


def push_state(webinar: Webinar, *, room: tuple[str, ...], console: tuple[str, ...]) -> None:
    """Render the named regions of a webinar once and publish them to both channels."""
    count = fragments.attendance.present_count(webinar.webinar_id)
    room = fragments.room_regions(webinar, room)
    if room:
        html = per_language(lambda lang: "".join(
            fragments.room_region(name, webinar, count=count, oob=True, lang=lang) for name in room))
        publish(room_channel(webinar.webinar_id), html)
    if console:
        html = per_language(lambda lang: "".join(
            fragments.console_region(name, webinar, oob=True, lang=lang) for name in console))
        publish(console_channel(webinar.webinar_id), html)


def chat_message(message: ChatMessage) -> None:
    """A new message: to the room when visible, always to the console."""
    with _request_context():
        if message.moderation_status == "visible":
            publish(room_channel(message.webinar_id),
                    fragments.messages_oob(fragments.message_items([message])))
        _console_message(message)


def message_hidden(message: ChatMessage) -> None:
    """A hidden message disappears from every room page; the console shows it as hidden."""
    with _request_context():
        publish(room_channel(message.webinar_id), fragments.messages_oob("", removed=[message.message_id]))
        _console_message(message)


def _console_message(message: ChatMessage) -> None:
    muted = fragments.muted_leads(message.webinar_id)
    items = per_language(lambda lang: fragments.message_items([message], audience="console", muted=muted, lang=lang))
    publish(console_channel(message.webinar_id), fragments.messages_oob(items))


def moderation_changed(webinar: Webinar) -> None:
    """Mute/ban changed: the console's attendee list shows it (a ban's leave also moves the count)."""
    push_state(webinar, room=(), console=("attendees",))


def attendance_changed(webinar_id: int) -> None:
    """Someone entered or left: push the count and list soon, coalescing bursts."""
    app = current_app._get_current_object()
    delay = float(app.config.get("ROOM_ATTENDANCE_PUSH_INTERVAL", ATTENDANCE_PUSH_INTERVAL))
    if delay <= 0:
        _push_attendance(webinar_id)
        return
    with _timers_lock:
        if webinar_id in _timers:
            return
        timer = threading.Timer(delay, _push_attendance_later, args=(app, webinar_id))
        timer.daemon = True
        _timers[webinar_id] = timer
    timer.start()


def _push_attendance_later(app: Flask, webinar_id: int) -> None:
    with _timers_lock:
        _timers.pop(webinar_id, None)
    with app.app_context():
        try:
            _push_attendance(webinar_id)
        except Exception:
            log.exception("attendance push failed for webinar %s", webinar_id)


def _push_attendance(webinar_id: int) -> None:
    webinar = db.session.get(Webinar, webinar_id)
    if webinar is not None:
        push_state(webinar, room=("count",), console=("attendees",))
    db.session.rollback()  # end the read transaction this push opened


# --- subscribers -------------------------------------------------------------------------

ROOM_ON_STATUS = ("status", "stage", "cta", "count", "compose")
CONSOLE_ON_STATUS = ("controls", "cta", "attendees")


def on_event_committed(envelope: dict) -> None:
    """Status and CTA changes reach every room page and console once, after the commit."""
    name = envelope.get("event")
    if name == "webinar_status_changed":
        room, console = ROOM_ON_STATUS, CONSOLE_ON_STATUS
    elif name == "webinar_cta_visibility_changed":
        room, console = ("cta",), ("cta",)
    else:
        return
    with reading() as session:
        webinar = session.get(Webinar, envelope["webinar_id"])
        if webinar is None:
            return
        with _swap_session(session):
            push_state(webinar, room=room, console=console)


def on_status_changing(webinar: Webinar, *, from_status: str, to_status: str, actor: object = None) -> None:
    """In the status transaction: enter the waiting attendees at go-live, close all at stop."""
    from portal.room import attendance, presence, sessions

    if webinar.type != WebinarType.live.value:
        return
    if to_status == Status.live.value and from_status == Status.scheduled.value:
        entered = presence.enter_waiting(webinar)
        log.info("webinar %s live: %s waiting connections entered", webinar.webinar_id, entered)
    elif to_status == Status.finished.value:
        result = attendance.finish_live(webinar, session_ids=sessions.live_session_ids(webinar.webinar_id))
        sessions.end_sessions(webinar.webinar_id)
        log.info("webinar %s finished: %s", webinar.webinar_id, result)


@contextmanager
def reading() -> Iterator[Session]:
    """A short-lived session for reads where the scoped one cannot run SQL (after-commit)."""
    session = Session(bind=db.engine, expire_on_commit=False)
    try:
        yield session
    finally:
        session.close()


@contextmanager
def _swap_session(session: Session) -> Iterator[None]:
    """Let code written against db.session read through `session` for a moment."""
    registry = db.session.registry
    previous = registry() if registry.has() else None
    registry.set(session)
    try:
        yield
    finally:
        if previous is not None:
            registry.set(previous)
        else:
            registry.clear()


@contextmanager
def _request_context() -> Iterator[None]:
    """Templates may call url_for: give them a request context when running in a thread."""
    if has_request_context():
        yield
        return
    with current_app.test_request_context("/"):
        yield


_installed = False


def install() -> None:
    """Connect the subscribers once per process."""
    global _installed
    if _installed:
        return
    from portal.core import events, lifecycle

    events.event_committed.connect(on_event_committed)
    lifecycle.status_changing.connect(on_status_changing)
    _installed = True
