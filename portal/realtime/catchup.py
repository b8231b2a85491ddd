"""Catch-up after a (re)connect or a poll, without a gap.

Gap-free ordering: the socket is in the hub before it says hello, the channel version is read
before the snapshot, and the snapshot is queued before the version is read again. A change
that slipped in between is answered with a second snapshot, so the last thing the page
swaps is never older than a live frame it already received. Duplicates are harmless: the
fragments are idempotent (static/js/realtime.js replaces an element whose id exists).
The snapshot itself is the domain's (`render`); this module only orders it.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from portal.extensions import db
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


def send_consistent(ctx: SocketContext, render: Callable[[], str | None]) -> None:
    """Send `render()` on this socket until no publish happened while it was rendered.

    `render` returns None when the socket may no longer see the channel: it is closed.
    """
    hub = current_hub()
    for _attempt in range(MAX_ATTEMPTS):
        before = hub.version(ctx.channel)
        html = render()
        if html is None:
            ctx.close("access revoked")
            return
        ctx.send(html)
        # Broker unavailable (None): no version to compare; the hub resyncs every socket once
        # its subscription is back, which covers whatever this snapshot could not.
        if before is None or hub.version(ctx.channel) == before:
            return
        # Something was published meanwhile: read again in a fresh transaction.
        db.session.remove()
        ctx.forget()
