"""Live updates (SPEC §7): channels, a broker with an in-process and a Redis backend, sockets.

Public API (docs in /work/coord/CONTRACTS.md):
- ``publish(channel, html)``: an oob fragment to every socket of the channel, every process.
- ``disconnect(channel, *, lead_id, reason)``: close that lead's sockets (ban, revoke).
- ``room_channel(webinar_id)``, ``console_channel(webinar_id)``.
- ``handlers.register(type, fn)`` with ``fn(ctx: SocketContext, payload: dict)``.
"""
from __future__ import annotations

import logging

from portal.realtime import handlers
from portal.realtime.channels import console_channel, room_channel
from portal.realtime.context import SocketContext

log = logging.getLogger(__name__)

__all__ = ["publish", "disconnect", "room_channel", "console_channel", "handlers", "SocketContext"]


def publish(channel: str, html: str) -> None:
    """Send `html` (hx-swap-oob elements) to every socket of `channel`; encoded once per channel.

    Call it after the commit of the change it shows. Live updates are best effort (pages catch
    up on reconnect and by polling), so a broker failure is logged, never raised into the
    request that already committed.
    """
    from portal.realtime.runtime import current_hub

    try:
        current_hub().publish(channel, html)
    except Exception:
        log.exception("realtime publish to %s failed", channel)


def disconnect(channel: str, *, lead_id: int, reason: str) -> None:
    """Close `lead_id`'s sockets in `channel` with `reason` (a LEAVE_REASONS value), in every process.

    It also moves the channel's version, so the lead's polling fallback must go back to the
    database (and is refused there once banned or revoked).
    """
    from portal.realtime.runtime import current_hub

    try:
        current_hub().disconnect(channel, lead_id=lead_id, reason=reason)
    except Exception:
        log.exception("realtime disconnect on %s failed", channel)
