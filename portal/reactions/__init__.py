"""Reactions (issue 13): the room's reaction bar, taps rate limited per attendee, bursts
aggregated to at most one frame a second per socket, totals per minute for the console."""
from __future__ import annotations

from typing import Any

from flask import Flask

from portal import realtime
from portal.errors import PortalError
from portal.reactions import fragments, push, service
from portal.reactions.views import bp
from portal.realtime import SocketContext
from portal.room import standing

ROOM_AUDIENCE = "room"  # the room socket's audience (portal.room.sockets.AUDIENCE)

__all__ = ["init_app", "shutdown"]


def init_app(app: Flask) -> None:
    """The HTTP fallback, the socket's "react" frames, the tally and its ticker, the partials' helpers."""
    app.register_blueprint(bp)
    push.init_app(app)
    realtime.register_handler(app, "react", on_react, audience=ROOM_AUDIENCE)
    app.add_template_global(fragments.choices, "reaction_choices")
    app.add_template_global(fragments.console_context, "reaction_totals")


def shutdown(app: Flask) -> None:
    push.shutdown(app)


def on_react(ctx: SocketContext, payload: dict[str, Any]) -> None:
    """{"type": "react", "reaction": name}: refused taps are dropped quietly (no error frame:
    a tapping thumb must not get a flood of messages; the HTTP fallback says why). Checked
    against the room's cached standing: a storm of taps costs no query per tap."""
    webinar_id, registration_id, lead_id = ctx.id("webinar_id"), ctx.id("registration_id"), ctx.id("lead_id")
    if webinar_id is None or registration_id is None or lead_id is None:
        return
    reactions = push.state()
    try:
        service.tap_in_room(standing.of(webinar_id), payload.get("reaction"), registration_id=registration_id,
                            webinar_id=webinar_id, lead_id=lead_id, tally=reactions.tally)
    except PortalError:
        return
    reactions.ticker.ensure_started()
