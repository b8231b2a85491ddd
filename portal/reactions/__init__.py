"""Reactions (issue 13): the room's reaction bar, taps rate limited per attendee, bursts
aggregated to at most one frame a second per socket, totals per minute for the console."""
from __future__ import annotations

from typing import Any

from flask import Flask

from portal import realtime
from portal.errors import PortalError
from portal.extensions import db
from portal.reactions import fragments, push, service
from portal.reactions.views import bp
from portal.realtime import SocketContext
from portal.registration.models import Registration

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
    a tapping thumb must not get a flood of messages; the HTTP fallback says why)."""
    reg = db.session.get(Registration, ctx.id("registration_id"), populate_existing=True)
    if reg is None:
        return
    reactions = push.state()
    try:
        service.tap(reg, payload.get("reaction"), tally=reactions.tally)
    except PortalError:
        return
    reactions.ticker.ensure_started()
