"""Live updates (SPEC §7): a transport that knows no domain.

Broker protocol with an in-process and a Redis backend, the per-process hub, per-socket
writers and readers, frames, the pinger, the GC policy. Domains plug in; this package imports
none of them (tests/test_layers.py checks it):

- ``publish(channel, html)``: an oob fragment to every socket of the channel, every process.
- ``disconnect(channel, *, member, reason)``: close a member's sockets (ban, revoke).
- ``route(bp, rule, endpoint=, admit=, on_open=, on_close=)``: a socket endpoint of a domain;
  ``url(endpoint, **values)`` its path for the page.
- ``cap_member(ctx, *, keep, reason)``: at most `keep` sockets of this socket's member in its
  channel, across processes; the oldest are closed with `reason` (call it from on_open).
- ``register_handler(app, type, fn, audience=)``: ``fn(ctx: SocketContext, payload: dict)``
  for frames of that `type` (from sockets of that audience); it answers with
  ``ctx.send(html)`` or by publishing, and may raise PortalError (its message goes back to
  that socket as an error fragment).
- ``catchup.send_consistent`` and ``polling`` (ETags) for the domains' snapshots.
"""
from __future__ import annotations

import logging

from flask import Flask

from portal.realtime import sockets
from portal.realtime.admission import Admission
from portal.realtime.context import SocketContext
from portal.realtime.runtime import EXTENSION, Handler, Realtime, current_hub, state
from portal.realtime.sockets import route, url

log = logging.getLogger(__name__)

__all__ = ["Admission", "SocketContext", "disconnect", "init_app", "publish", "register_handler", "route", "url"]


def init_app(app: Flask) -> None:
    """This app's handler table and hub (made on first use), and socket admission."""
    app.extensions[EXTENSION] = Realtime(app)
    sockets.init_app(app)


def register_handler(app: Flask, type_: str, fn: Handler, *, audience: str | None = None) -> Handler:
    """Route this app's socket frames whose `type` is `type_` to `fn` (only from sockets
    admitted with that `audience`, when given)."""
    return state(app).register(type_, fn, audience=audience)


def publish(channel: str, html: str) -> None:
    """Send `html` (hx-swap-oob elements) to every socket of `channel`; encoded once per channel.

    Call it after the commit of the change it shows. Live updates are best effort (pages catch
    up on reconnect and by polling), so a broker failure is logged, never raised into the
    request that already committed. An empty fragment is not sent.
    """
    if not html:
        return
    try:
        current_hub().publish(channel, html)
    except Exception:
        log.exception("realtime publish to %s failed", channel)


def disconnect(channel: str, *, member: int, reason: str) -> None:
    """Close `member`'s sockets in `channel` with `reason`, in every process.

    It also moves the channel's version, so the member's polling fallback must go back to the
    database (and is refused there once banned or revoked).
    """
    try:
        current_hub().disconnect(channel, member=member, reason=reason)
    except Exception:
        log.exception("realtime disconnect on %s failed", channel)


def cap_member(ctx: SocketContext, *, keep: int, reason: str) -> None:
    """Keep at most `keep` open sockets of `ctx`'s member in its channel (every process, through
    the broker): the oldest beyond that are closed with code 1008 and `reason`.

    Best effort like publish: when the broker is down the cap is not enforced (logged)."""
    member = ctx.admission.member
    if member is None or keep <= 0:
        return
    try:
        current_hub().cap(ctx.channel, member=member, socket_id=ctx.connection_id, keep=keep, reason=reason)
    except Exception:
        log.exception("realtime cap on %s failed", ctx.channel)
