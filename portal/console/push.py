"""Pushes to the console channel: the console's regions and chat, after the commits the lower
layers announce (portal/signals.py), rendered once per language. Chat messages are coalesced
like the room's (portal.room.batching): the speaker sees the same rhythm as the attendees."""
from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from functools import partial
from typing import Any

from flask import Flask, current_app, render_template, url_for

from portal import realtime, signals
from portal.console import fragments
from portal.core.models import Webinar
from portal.dbsession import fresh_session
from portal.extensions import db
from portal.room import chat, cohorts
from portal.room.batching import Batcher
from portal.room.channels import console_channel
from portal.room.models import ChatMessage
from portal.room.push import Debouncer, per_language

EXTENSION = "portal.console.push"
CHAT_EXTENSION = "portal.console.push.chat"
ON_STATUS = ("controls", "cta", "attendees")
# An organizer's edit (webinar_edited): the console regions showing each edited field.
ON_EDIT = {"scheduled_at": ("controls",), "timezone": ("controls",), "cta_text": ("cta",), "cta_url": ("cta",)}


def init_app(app: Flask) -> None:
    app.extensions[EXTENSION] = Debouncer()
    app.extensions[CHAT_EXTENSION] = Batcher(realtime.pool(app))
    signals.connect(app, signals.event_committed, on_event_committed)
    signals.connect(app, signals.attendance_changed, on_attendance_changed)
    signals.connect(app, signals.message_stored, on_message)
    signals.connect(app, signals.message_hidden, on_message)
    signals.connect(app, signals.message_unhidden, on_message)
    signals.connect(app, signals.moderation_changed, on_moderation_changed)
    signals.connect(app, signals.webinar_edited, on_webinar_edited)


def shutdown(app: Flask) -> None:
    app.extensions[EXTENSION].cancel_all()
    app.extensions[CHAT_EXTENSION].stop()


def on_event_committed(envelope: dict[str, Any], **_: Any) -> None:
    """Status and CTA changes: the controls, the CTA switch and the attendee list."""
    name = envelope.get("event")
    if name == "webinar_status_changed":
        _push(envelope["webinar_id"], ON_STATUS)
    elif name == "webinar_cta_visibility_changed":
        _push(envelope["webinar_id"], ("cta",))


def on_webinar_edited(webinar_id: int, *, fields: tuple[str, ...], **_: Any) -> None:
    """The organizer saved a new time or CTA: the console's planned time and CTA preview."""
    wanted = tuple(name for name in ON_STATUS if any(name in ON_EDIT.get(f, ()) for f in fields))
    if wanted:
        _push(webinar_id, wanted)


def on_attendance_changed(webinar_id: int, *, app: Flask, **_: Any) -> None:
    """Someone entered or left: the attendee list soon, bursts coalesced."""
    app.extensions[EXTENSION].call_soon(app, webinar_id, _push_attendees,
                                        delay=float(app.config["ROOM_ATTENDANCE_PUSH_INTERVAL"]))


def on_message(message_id: int, **_: Any) -> None:
    """A new, hidden or un-hidden message as the console shows it (moderation state and
    buttons): at once, or with the others of its channel's window."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    with fresh_session(app):
        message = db.session.get(ChatMessage, message_id)
        if message is None:
            return
        webinar_id = message.webinar_id
        channel = console_channel(webinar_id, cohorts.channel_key(webinar_id, message.session_id))
    app.extensions[CHAT_EXTENSION].add(channel, message_id, interval=float(app.config["CHAT_PUSH_INTERVAL"]),
                                       flush=partial(_flush_messages, app, webinar_id, channel))


def _flush_messages(app: Flask, webinar_id: int, channel: str, take: Callable[[], list[int]]) -> bool:
    """One frame with the taken messages in their state of now, read after the channel's
    number is taken."""
    with fresh_session(app), realtime.ordered(channel):
        found = chat.messages_by_id(webinar_id, take(), staff=True)
        if not found:
            return False
        muted = fragments.muted_leads(webinar_id)
        items = per_language(lambda lang: fragments.message_items(found, muted=muted, lang=lang))
        realtime.publish(channel, fragments.messages_oob(items))
        for message in found:
            if cohorts.is_alone(message.session_id) and not message.posted_as_host:
                _tell_other_consoles(message, own=channel)
        return True


def _tell_other_consoles(message: ChatMessage, *, own: str) -> None:
    """A watch-now viewer wrote to the hosts: consoles watching another cohort see a link to
    that viewer's chat (it reaches the hosts wherever they look)."""
    html = per_language(lambda lang: render_template(  # per_language gives url_for a request context
        "console/_cohort_notice.html", message=message, oob=True, lang=lang,
        url=url_for("console.page", webinar_id=message.webinar_id, cohort=message.session_id)))
    for channel in channels(message.webinar_id):
        if channel != own:
            realtime.publish(channel, html)


def on_moderation_changed(webinar_id: int, **_: Any) -> None:
    """Mute, unmute, ban, unban: the attendee list shows it."""
    _push(webinar_id, ("attendees",))


def channels(webinar_id: int, *, present_only: bool = True) -> list[str]:
    """The console channels of a webinar: one per cohort a console may watch (pushes: those
    with someone in them; closing a staff member's consoles: all)."""
    with fresh_session():
        webinar = db.session.get(Webinar, webinar_id)
        groups = cohorts.all_of(webinar, present_only=present_only) if webinar is not None else []
        keys = {c.channel_key for c in groups}
    return [console_channel(webinar_id, key) for key in sorted(keys | {""})]


def _push_attendees(app: Flask, webinar_id: int) -> None:
    with fresh_session(app):
        _push(webinar_id, ("attendees",))


def _push(webinar_id: int, regions: tuple[str, ...]) -> None:
    targets = channels(webinar_id)
    with ExitStack() as numbers, fresh_session():
        # The channels' numbers are taken before the read: pages apply pushes in commit order.
        for channel in targets:
            numbers.enter_context(realtime.ordered(channel))
        webinar = db.session.get(Webinar, webinar_id)
        if webinar is None:
            return
        html = per_language(lambda lang: "".join(fragments.region(name, webinar, oob=True, lang=lang)
                                                 for name in regions))
        for channel in targets:
            realtime.publish(channel, html)
