"""The speaker's health panel (issue 13): how the attendees' players are doing, live and
coalesced for the console; reports come from the room pages (socket or polling request)."""
from __future__ import annotations

from typing import Any

from flask import Flask

from portal import realtime, signals
from portal.errors import PortalError
from portal.health import fragments, push
from portal.health.board import Report, parse, parse_text
from portal.realtime import SocketContext
from portal.room import standing

ROOM_AUDIENCE = "room"  # the room socket's audience (portal.room.sockets.AUDIENCE)

__all__ = ["init_app", "panel_html", "shutdown"]


def init_app(app: Flask) -> None:
    """The room socket's "player" frames, the polling requests' reports, the board and its ticker."""
    push.init_app(app)
    realtime.register_handler(app, "player", on_player, audience=ROOM_AUDIENCE)
    signals.connect(app, signals.room_polled, on_polled)
    app.add_template_global(panel_context, "health_panel")


def shutdown(app: Flask) -> None:
    push.shutdown(app)


def panel_context(webinar_id: int) -> dict[str, Any]:
    """The panel as the console page first shows it (every worker's counts)."""
    return fragments.context(push.summed(webinar_id))


def panel_html(webinar_id: int, *, oob: bool = False) -> str:
    """The panel now (console catch-up and polling)."""
    return fragments.panel(push.summed(webinar_id), oob=oob)


def on_player(ctx: SocketContext, payload: dict[str, Any]) -> None:
    """{"type": "player", "state": ..., flags...}: a bad report is refused with its message;
    one from a registration that lost access is dropped (its socket is being closed)."""
    report = parse(payload)
    webinar_id, registration_id = ctx.id("webinar_id"), ctx.id("registration_id")
    if webinar_id is None or registration_id is None:
        return
    room = standing.of(webinar_id)  # cached per webinar: no query per report
    if room is not None and registration_id not in room.barred:
        _note(webinar_id, registration_id, report, via="socket")


def on_polled(token: str, *, report: str, **_: Any) -> None:
    """A polling page's report (header X-Player-Report): checked now, noted by its token in
    memory; the ticker keeps it if the link opens the room (push.resolve_polled, a query a
    second), so a poll, a 304 above all, reads no database. A bad report is not kept."""
    try:
        parsed = parse_text(report)
    except PortalError:
        return
    health = push.state()
    health.board.note_polled(token, parsed)
    health.ticker.ensure_started()


def _note(webinar_id: int, registration_id: int, report: Report, *, via: str) -> None:
    health = push.state()
    health.board.note(webinar_id, registration_id, report, via=via)
    health.ticker.ensure_started()

