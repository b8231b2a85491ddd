"""The console's socket /ws/console/<webinar_id>: admission and its catch-up ("hello");
"chat" frames are the room's handler (a host's message is a chat message)."""
from __future__ import annotations

from types import MappingProxyType
from typing import Any

from flask import Flask

from portal import ratelimit, realtime, signals
from portal.console import fragments, push, service
from portal.core.models import User, Webinar
from portal.core.permissions import Action, can
from portal.realtime import Admission, SocketContext, catchup
from portal.room import cohorts
from portal.room.channels import console_channel

AUDIENCE = "console"


def init_app(app: Flask) -> None:
    realtime.register_handler(app, "hello", on_hello, audience=AUDIENCE)
    signals.connect(app, signals.sessions_ended, on_sessions_ended)


def admit(user: Any, webinar_id: int, cohort: str | None = None) -> Admission:
    """Before the handshake: a signed-in staff member of this webinar (404 / 403 otherwise);
    the socket listens to the channel of the cohort the console watches (?cohort=)."""
    webinar = service.console_or_404(user, webinar_id)
    watching = cohorts.watched(webinar, cohort)
    key = cohorts.channel_key(webinar.webinar_id, watching.session_id) if watching is not None else ""
    return Admission(console_channel(webinar.webinar_id, key), AUDIENCE, member=user.user_id,
                     ids=MappingProxyType({"user_id": user.user_id, "webinar_id": webinar.webinar_id}))


def on_sessions_ended(user_id: int, *, webinar_ids: tuple[int, ...], reason: str, **_: Any) -> None:
    """A staff member's sessions ended (or they were taken off a webinar): close their consoles
    (whichever cohort each watches)."""
    for webinar_id in webinar_ids:
        for channel in push.channels(webinar_id, present_only=False):
            realtime.disconnect(channel, member=user_id, reason=reason)


def on_hello(ctx: SocketContext, payload: dict[str, Any]) -> None:
    """{"type": "hello", "last_message_id": N}: the console's snapshot since N."""
    ratelimit.hello(f"c:{ctx.id('user_id')}:{ctx.id('webinar_id')}")
    since = catchup.since_id(payload.get("last_message_id"))

    def render() -> str | None:
        user, webinar = ctx.load(User, ctx.id("user_id")), ctx.load(Webinar, ctx.id("webinar_id"))
        if user is None or webinar is None or not can(user, Action.OPEN_CONSOLE, webinar):
            return None
        key = ctx.channel.split(":", 2)[2] if ctx.channel.count(":") == 2 else ""
        return fragments.snapshot(user, webinar, since_message_id=since,
                                  cohort=cohorts.session_of_key(webinar, key))

    catchup.send_consistent(ctx, render)
