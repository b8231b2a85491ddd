"""Pushes to the room channel: subscribes to what lower layers announce after their commits,
renders the changed regions once per language, publishes them (the console does the same for
its own channel: portal.console.push).

It writes no rows. Sources (portal/signals.py has the catalogue):
- `event_committed` (Core): status and CTA visibility changes;
- `attendance_changed` (attendance): the count and attendee list, bursts coalesced into one
  push per ROOM_ATTENDANCE_PUSH_INTERVAL seconds per webinar (a whole room entering at once);
- `message_stored`, `message_hidden`, `message_unhidden`, `moderation_changed` (room chat and
  moderation); new messages coalesced into at most one frame per CHAT_PUSH_INTERVAL seconds
  per channel, across workers (portal.room.batching);
- `webinar_edited` (admin): the regions an organizer's edit changed (ROOM_ON_EDIT).
Receivers run after the commit, where the committing session may not run SQL: they read
through `fresh_session()`.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from functools import partial
from typing import Any

from flask import Flask, current_app, has_request_context
from flask_babel import force_locale

from portal import realtime, signals
from portal.core import runs
from portal.core.models import Webinar
from portal.dbsession import fresh_session
from portal.extensions import db
from portal.realtime import concurrency
from portal.room import chat, cohorts, fragments
from portal.room.batching import Batcher
from portal.room.channels import room_channel
from portal.room.models import ChatMessage

log = logging.getLogger(__name__)

EXTENSION = "portal.room.push"
CHAT_EXTENSION = "portal.room.push.chat"
ROOM_ON_STATUS = ("status", "stage", "cta", "count", "compose")
# An organizer's edit (webinar_edited): which room regions show each edited field.
ROOM_ON_EDIT = {
    "scheduled_at": ("status", "stage", "compose"),  # the countdown, the chat lobby's opening
    "timezone": ("stage",),
    "chat_lobby_minutes": ("compose",),
    "external_chat_ref": ("compose",),
    "stream_type": ("stage",),
    "stream_url": ("stage",),
    "cta_text": ("cta",),
    "cta_url": ("cta",),
    "show_attendee_count": ("count",),
}


class Debouncer:
    """Runs `fn(app, key)` once, `delay` seconds after the first call for a key; calls for a
    key already pending are folded into it (a whole room entering makes one push).

    The wait is started with `concurrency.later`, which returns at once: a `threading.Timer`
    would, under gevent, hand the calling request's greenlet over to the hub while the timer
    starts (the same switch that delayed a go-live's push behind its mail job, issue 14)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: dict[Any, object] = {}  # key -> the token of its scheduled run

    def call_soon(self, app: Flask, key: Any, fn: Callable[[Flask, Any], None], *, delay: float) -> None:
        if delay <= 0:
            fn(app, key)
            return
        with self._lock:
            if key in self._pending:
                return
            token = self._pending[key] = object()
        concurrency.later(delay, self._run, app, key, fn, token)

    def _run(self, app: Flask, key: Any, fn: Callable[[Flask, Any], None], token: object) -> None:
        with self._lock:
            if self._pending.get(key) is not token:  # cancelled (and maybe scheduled anew since)
                return
            del self._pending[key]
        try:
            fn(app, key)
        except Exception:
            log.exception("debounced push %r failed", key)

    def cancel_all(self) -> None:
        with self._lock:
            self._pending.clear()


def init_app(app: Flask) -> None:
    app.extensions[EXTENSION] = Debouncer()
    app.extensions[CHAT_EXTENSION] = Batcher(realtime.pool(app))
    signals.connect(app, signals.event_committed, on_event_committed)
    signals.connect(app, signals.attendance_changed, on_attendance_changed)
    signals.connect(app, signals.message_stored, on_message_stored)
    signals.connect(app, signals.message_hidden, on_message_hidden)
    signals.connect(app, signals.message_unhidden, on_message_stored)  # shown again: as if new
    signals.connect(app, signals.moderation_changed, on_moderation_changed)
    signals.connect(app, signals.webinar_edited, on_webinar_edited)


def shutdown(app: Flask) -> None:
    app.extensions[EXTENSION].cancel_all()
    app.extensions[CHAT_EXTENSION].stop()


# --- receivers -----------------------------------------------------------------------------

def on_event_committed(envelope: dict[str, Any], **_: Any) -> None:
    """Status and CTA changes reach every room page once, after the commit."""
    name = envelope.get("event")
    if name == "webinar_status_changed":
        regions = ROOM_ON_STATUS
    elif name == "webinar_cta_visibility_changed":
        regions = ("cta",)
    else:
        return
    with fresh_session():
        webinar = db.session.get(Webinar, envelope["webinar_id"])
        if webinar is not None:
            push_regions(webinar, regions)


def on_webinar_edited(webinar_id: int, *, fields: tuple[str, ...], **_: Any) -> None:
    """The organizer saved a new time, CTA, stream or count switch: every open room gets the
    regions showing them at once."""
    wanted = tuple(name for name in ROOM_ON_STATUS if any(name in ROOM_ON_EDIT.get(f, ()) for f in fields))
    if not wanted:
        return
    with fresh_session():
        webinar = db.session.get(Webinar, webinar_id)
        if webinar is not None:
            push_regions(webinar, wanted)


def on_attendance_changed(webinar_id: int, *, app: Flask, **_: Any) -> None:
    """Someone entered or left: push the count soon, coalescing bursts."""
    app.extensions[EXTENSION].call_soon(app, webinar_id, _push_count,
                                        delay=float(app.config["ROOM_ATTENDANCE_PUSH_INTERVAL"]))


def on_message_stored(message_id: int, **_: Any) -> None:
    """A new (or un-hidden) message reaches every room page when it is visible: at once, or
    with the others of its channel's window (portal.room.batching)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    with fresh_session(app):
        message = db.session.get(ChatMessage, message_id)
        if message is None or message.moderation_status != "visible":
            return
        webinar_id = message.webinar_id
        channel = room_channel(webinar_id, cohorts.channel_key(webinar_id, message.session_id))
    app.extensions[CHAT_EXTENSION].add(channel, message_id, interval=float(app.config["CHAT_PUSH_INTERVAL"]),
                                       flush=partial(_flush_messages, app, webinar_id, channel))


def _flush_messages(app: Flask, webinar_id: int, channel: str, take: Callable[[], list[int]]) -> bool:
    """One frame with the taken messages a room page may see, read after the channel's number
    is taken (a hide committed later reaches the pages after it)."""
    with fresh_session(app), _rendering(), realtime.ordered(channel):
        found = chat.messages_by_id(webinar_id, take())
        if not found:
            return False
        realtime.publish(channel, fragments.messages_oob(fragments.message_items(found)))
        return True


def on_message_hidden(message_id: int, *, webinar_id: int, **_: Any) -> None:
    """A hidden message disappears from every room page of its cohort (as a tombstone)."""
    with fresh_session(), _rendering():
        message = db.session.get(ChatMessage, message_id)
        key = cohorts.channel_key(webinar_id, message.session_id if message is not None else None)
        realtime.publish(room_channel(webinar_id, key), fragments.messages_oob("", removed=[message_id]))


def on_moderation_changed(webinar_id: int, *, lead_id: int, banned: bool = False, **_: Any) -> None:
    """A banned lead's sockets close (in every process); their link is dead already."""
    if banned:
        disconnect(webinar_id, lead_id, reason="banned")


def disconnect(webinar_id: int, lead_id: int, *, reason: str) -> None:
    """Close a lead's room sockets in whichever cohort channel they listen on."""
    with fresh_session():
        webinar = db.session.get(Webinar, webinar_id)
        keys = {c.channel_key for c in cohorts.all_of(webinar)} if webinar is not None else set()
    for key in sorted(keys | {""}):
        realtime.disconnect(room_channel(webinar_id, key), member=lead_id, reason=reason)


# --- rendering -----------------------------------------------------------------------------

def per_language(render: Callable[[str], str]) -> str:
    """One variant per UI language; each root carries data-lang and the page keeps its own."""
    with _rendering():
        out = []
        for lang in current_app.config["LANGUAGES"]:
            with force_locale(lang):
                out.append(render(lang))
        return "".join(out)


def push_regions(webinar: Webinar, wanted: tuple[str, ...]) -> None:
    """Render the named room regions once per cohort (each with its own start time: a run's
    status, countdown and lobby) and publish them to that cohort's room channel."""
    regions = fragments.room_regions(webinar, wanted)
    if not regions:
        return
    groups = cohorts.all_of(webinar, present_only=True)
    if all(c.channel_key for c in groups):  # the webinar's own channel too (pages of older links)
        groups.append(cohorts.Cohort("", None))
    with ExitStack() as numbers:
        # The channels' numbers are taken before the read: pages apply pushes in commit order.
        for cohort in groups:
            numbers.enter_context(realtime.ordered(room_channel(webinar.webinar_id, cohort.channel_key)))
        db.session.refresh(webinar)
        count = fragments.attendance.present_count(webinar.webinar_id)
        rendered: dict[object, str] = {}  # by start time: only a live run's regions differ per cohort
        for cohort in groups:
            key = cohort.starts_at if runs.has_runs(webinar) else None
            if key not in rendered:
                rendered[key] = per_language(lambda lang, c=cohort: "".join(
                    fragments.room_region(name, webinar, count=count, oob=True, lang=lang, cohort=c)
                    for name in regions))
            realtime.publish(room_channel(webinar.webinar_id, cohort.channel_key), rendered[key])


def room_channels(webinar: Webinar) -> list[str]:
    """Every room channel a page of this webinar may listen on now: each present cohort's (a
    run, an auto start, a watch-now viewer) and the webinar's own."""
    keys = {c.channel_key for c in cohorts.all_of(webinar, present_only=True)} | {""}
    return [room_channel(webinar.webinar_id, key) for key in sorted(keys)]


def publish_to_rooms(webinar: Webinar, frame: Callable[[], str], *, member: int | None = None) -> None:
    """One frame for the whole webinar (Q&A, polls) on every room channel, in each channel's
    order: the channels' numbers are taken first, then `frame()` reads and renders once. With
    `member`, only that lead's sockets get it (their own view)."""
    channels = room_channels(webinar)
    with ExitStack() as numbers:
        for channel in channels:
            numbers.enter_context(realtime.ordered(channel))
        html = frame()
        for channel in channels:
            if member is None:
                realtime.publish(channel, html)
            else:
                realtime.publish_to(channel, html, member=member)


def _push_count(app: Flask, webinar_id: int) -> None:
    with fresh_session(app):
        webinar = db.session.get(Webinar, webinar_id)
        if webinar is not None:
            push_regions(webinar, ("count",))


@contextmanager
def _rendering() -> Iterator[None]:
    """Templates may call url_for: give them a request context when running in a thread."""
    if has_request_context():
        yield
        return
    with current_app.test_request_context("/"):
        yield
