"""The room's socket: admission of /ws/room/<token>, presence on open and close, and the
frames the room handles ("enter", "leave", "hello"; auto webinars add "heartbeat"; "chat" on
every socket, the console's included).

Handlers get the realtime SocketContext: `ctx.id("registration_id")` on attendee sockets,
`ctx.id("user_id")` on console sockets.
"""
from __future__ import annotations

from types import MappingProxyType
from typing import Any

from flask import Flask, current_app, render_template

from portal import ratelimit, realtime
from portal.attendance import presence
from portal.attendance.models import LEAVE_REASONS
from portal.core.models import User, Webinar
from portal.core.permissions import Action, can
from portal.errors import Forbidden, PortalError, refusal_shown
from portal.extensions import db
from portal.realtime import Admission, SocketContext, catchup
from portal.registration.models import Registration
from portal.room import chat, cohorts, fragments
from portal.room.access import registration_or_404
from portal.room.channels import room_channel

AUDIENCE = "room"
# Close reasons the room page explains (static/js/realtime.js shows the page's message for them).
TOO_MANY_WINDOWS = "too many windows"
LINK_REISSUED = "link reissued"


def init_app(app: Flask) -> None:
    realtime.register_handler(app, "chat", on_chat)
    for type_, handler in (("enter", on_enter), ("leave", on_leave), ("hello", on_hello)):
        realtime.register_handler(app, type_, handler, audience=AUDIENCE)


# --- admission and presence ----------------------------------------------------------------

def admit(token: str) -> Admission:
    """Before the handshake: the join token must open the room (the same 404 as the page)."""
    reg = registration_or_404(token)
    return Admission(room_channel(reg.webinar_id, cohorts.of(reg).channel_key), AUDIENCE, member=reg.lead_id,
                     ids=MappingProxyType({"registration_id": reg.registration_id,
                                           "webinar_id": reg.webinar_id, "lead_id": reg.lead_id}))


def registration(ctx: SocketContext) -> Registration | None:
    """The attendee of a room socket as of this frame (None on a console socket)."""
    return ctx.load(Registration, ctx.id("registration_id"))


def on_open(ctx: SocketContext) -> None:
    """Presence, and at most ROOM_MAX_SOCKETS_PER_LINK sockets per registrant in this room (the
    socket member is the lead; across processes through the broker): the oldest is closed
    with TOO_MANY_WINDOWS."""
    presence.connected(registration(ctx), connection_id=ctx.connection_id)
    realtime.cap_member(ctx, keep=int(current_app.config["ROOM_MAX_SOCKETS_PER_LINK"]), reason=TOO_MANY_WINDOWS)


def on_close(ctx: SocketContext, reason: str) -> None:
    reason = reason if reason in LEAVE_REASONS else "disconnected"
    # By ids: the socket may be closing because the database went away (the leave is then owed).
    presence.closed(ctx.id("registration_id"), ctx.id("webinar_id"), connection_id=ctx.connection_id, reason=reason)


# --- frames --------------------------------------------------------------------------------

def on_chat(ctx: SocketContext, payload: dict[str, Any]) -> None:
    """A chat post over the socket; the sender gets feedback naming the page's client id (the
    page clears its input only then) and its own shadowed message."""
    body = payload.get("body")
    client_id = None
    try:
        if ctx.id("registration_id") is not None:
            reg = _fresh(registration(ctx))
            if reg is None:
                raise Forbidden("You can no longer take part in this webinar.")
            client_id = chat.client_id_of(payload.get("client_id"))
            message = chat.post(reg, body, client_id=client_id)
        elif (user := ctx.load(User, ctx.id("user_id"))) is not None:
            webinar = ctx.load(Webinar, ctx.id("webinar_id"))
            key = ctx.channel.split(":", 2)[2] if ctx.channel.count(":") == 2 else ""  # the watched cohort
            session_id = cohorts.session_of_key(webinar, key) if webinar is not None else None
            message = chat.post_as_staff(user, webinar, body, session_id=session_id)
        else:
            return
    except PortalError as error:
        db.session.rollback()
        refusal_shown(error, subject=dict(ctx.admission.ids))  # the audit record
        ctx.send(feedback(error.translated(), error=True, status=error.status_code, client_id=client_id))
        return
    html = feedback("", client_id=client_id)
    if message.moderation_status == "shadowed":
        html += fragments.messages_oob(fragments.message_items([message]))
    ctx.send(html)


def on_enter(ctx: SocketContext, payload: dict[str, Any]) -> None:
    """The page saw the webinar go live: make sure this connection is an attendance (free,
    without the database, when this process entered it or queued it in a go-live batch)."""
    if presence.known_entered(ctx.id("webinar_id"), ctx.connection_id):
        return
    reg = _fresh(registration(ctx))
    if reg is not None:
        presence.ensure_entered(reg, connection_id=ctx.connection_id)


def on_leave(ctx: SocketContext, payload: dict[str, Any]) -> None:
    """The page is being closed: leave with reason 'left' before the socket drops."""
    reg = _fresh(registration(ctx))
    if reg is not None:
        presence.left_page(reg, connection_id=ctx.connection_id)


def on_hello(ctx: SocketContext, payload: dict[str, Any]) -> None:
    """{"type": "hello", "last_message_id": N}: the snapshot since N, on this socket only."""
    ratelimit.hello(f"r:{ctx.id('registration_id')}")
    since = catchup.since_id(payload.get("last_message_id"))

    def render() -> str | None:
        webinar = ctx.load(Webinar, ctx.id("webinar_id"))
        reg = registration(ctx)
        if reg is None or webinar is None or not can(reg, Action.ENTER_ROOM, webinar):
            return None
        return fragments.snapshot(reg, webinar, since_message_id=since)

    catchup.send_consistent(ctx, render)


def feedback(message: str, *, error: bool = False, status: int | None = None, client_id: str | None = None) -> str:
    """The chat form's feedback line as an oob fragment (naming the post it answers)."""
    return render_template("room/_feedback.html", message=message, error=error, status=status, oob=True,
                           client_id=client_id)


def _fresh(reg: Registration | None) -> Registration | None:
    """The registration as the database has it now (a speaker may have muted or banned it)."""
    if reg is None:
        return None
    fresh = db.session.get(Registration, reg.registration_id, populate_existing=True)
    return fresh if fresh is not None and fresh.has_access else None
