"""Room frames handled for the realtime layer: "chat", "enter" and "leave".

Registered with portal.realtime.handlers; each handler gets (ctx, payload) where ctx is the
realtime SocketContext (webinar_id, registration or user, connection_id, send()).
"""
from __future__ import annotations

import logging
from typing import Any

from flask import render_template
from flask_babel import gettext as _

from portal.core.models import Webinar
from portal.errors import Forbidden, PortalError
from portal.extensions import db
from portal.registration.models import Registration
from portal.room import chat, fragments, presence

log = logging.getLogger(__name__)


def on_chat(ctx: Any, payload: dict[str, Any]) -> None:
    """A chat post over the socket; the sender gets feedback (and its own shadowed message)."""
    body = payload.get("body")
    try:
        if ctx.registration is not None:
            reg = _fresh(ctx.registration)
            if reg is None:
                raise Forbidden(_("You can no longer take part in this webinar."))
            message = chat.post(reg, body)
        elif ctx.user is not None:
            webinar = db.session.get(Webinar, ctx.webinar_id)
            message = chat.post_as_staff(ctx.user, webinar, body)
        else:
            return
    except PortalError as error:
        db.session.rollback()
        ctx.send(feedback(error.message, error=True, status=error.status_code))
        return
    html = feedback("")
    if message.moderation_status == "shadowed":
        html += fragments.messages_oob(fragments.message_items([message]))
    ctx.send(html)


def on_enter(ctx: Any, payload: dict[str, Any]) -> None:
    """The page saw the webinar go live: make sure this connection is an attendance."""
    reg = _fresh(ctx.registration) if ctx.registration is not None else None
    if reg is not None:
        presence.ensure_entered(reg, connection_id=ctx.connection_id)


def on_leave(ctx: Any, payload: dict[str, Any]) -> None:
    """The page is being closed: leave with reason 'left' before the socket drops."""
    reg = _fresh(ctx.registration) if ctx.registration is not None else None
    if reg is not None:
        presence.left_page(reg, connection_id=ctx.connection_id)


def feedback(message: str, *, error: bool = False, status: int | None = None) -> str:
    """The chat form's feedback line as an oob fragment."""
    return render_template("room/_feedback.html", message=message, error=error, status=status, oob=True)


def _fresh(reg: Registration) -> Registration | None:
    """The registration as the database has it now (a speaker may have muted or banned it)."""
    fresh = db.session.get(Registration, reg.registration_id, populate_existing=True)
    return fresh if fresh is not None and fresh.has_access else None


_installed = False


def install() -> None:
    """Register the handlers with the realtime layer once per process."""
    global _installed
    if _installed:
        return
    try:
        from portal.realtime import handlers
    except ImportError:  # the realtime layer is not there (yet)
        log.warning("portal.realtime.handlers missing: room socket frames are not handled")
        return
    handlers.register("chat", on_chat)
    handlers.register("enter", on_enter)
    handlers.register("leave", on_leave)
    _installed = True
