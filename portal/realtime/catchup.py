"""Catch-up after a (re)connect or a poll: the room's snapshot since the last message the page has.

Gap-free ordering: the socket is in the hub before it says hello, the channel version is read
before the snapshot, and the snapshot is queued before the version is read again. A change
that slipped in between is answered with a second snapshot, so the last thing the page
swaps is never older than a live frame it already received. Duplicates are harmless: the
fragments are idempotent (static/js/realtime.js replaces an element whose id exists).
"""
from __future__ import annotations

from typing import Any

from portal.core.permissions import Action, can
from portal.extensions import db
from portal.realtime import handlers
from portal.realtime.context import SocketContext
from portal.realtime.runtime import current_hub

MAX_ATTEMPTS = 3


def since_id(raw: Any) -> int:
    """A message id from a frame or a query string; anything odd means "from the start"."""
    if isinstance(raw, bool):
        return 0
    if isinstance(raw, int):
        return max(raw, 0)
    if isinstance(raw, str) and raw.isdigit() and len(raw) < 16:
        return int(raw)
    return 0


def snapshot(actor: Any, webinar: Any, *, since: int, audience: str) -> str:
    """The room engineer's snapshot (portal.room.fragments), the one source of page state."""
    from portal.room import fragments

    return fragments.snapshot(actor, webinar, since_message_id=since, audience=audience)


def hello(ctx: SocketContext, payload: dict[str, Any]) -> None:
    """Answer {"type": "hello", "last_message_id": N} with the snapshot since N, on this socket."""
    since = since_id(payload.get("last_message_id"))
    action = Action.ENTER_ROOM if ctx.audience == "room" else Action.OPEN_CONSOLE
    hub = current_hub()
    for _attempt in range(MAX_ATTEMPTS):
        actor, webinar = ctx.actor, ctx.webinar
        if actor is None or webinar is None or not can(actor, action, webinar):
            ctx.close("access revoked")
            return
        before = hub.version(ctx.channel)
        ctx.send(snapshot(actor, webinar, since=since, audience=ctx.audience))
        if hub.version(ctx.channel) == before:
            return
        # Something was published meanwhile: read again in a fresh transaction.
        db.session.remove()
        ctx.forget()


handlers.register("hello", hello)
