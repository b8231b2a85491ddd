"""Live updates (SPEC §7): a transport that knows no domain.

Broker protocol with an in-process and a Redis backend, the per-process hub, per-socket
writers and readers, frames, the pinger, the GC policy. Domains plug in; this package imports
none of them (tests/test_layers.py checks it):

- ``publish(channel, html)``: an oob fragment to every socket of the channel, every process.
- ``publish_to(channel, html, member=)``: the same, to one member's sockets only (an
  attendee's own view: their question answered).
- ``publish_volatile(channel, html)``: the same, outside the channel's order and version (a
  momentary burst that polling pages need not fetch and catch-up need not repeat).
- ``pool(app)``: counters and snapshots shared by the workers, with a leader per interval
  (portal.realtime.pool); ``Ticker`` runs a domain's coalescing job every interval.
- ``ordered(channel)``: a block that reads the database and then publishes what it read; its
  publish keeps its place in commit order (see `ordered`).
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
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from flask import Flask

from portal.realtime import sockets
from portal.realtime.admission import Admission
from portal.realtime.context import SocketContext
from portal.realtime.pool import EXTENSION as POOL_EXTENSION
from portal.realtime.pool import Pool, make_pool
from portal.realtime.runtime import EXTENSION, Handler, Realtime, current_hub, state
from portal.realtime.sockets import route, url
from portal.realtime.ticker import Ticker

log = logging.getLogger(__name__)

__all__ = ["Admission", "SocketContext", "Ticker", "cap_member", "disconnect", "init_app", "ordered", "pool",
           "publish", "publish_to", "publish_volatile", "register_handler", "route", "url"]

# The numbers reserved by the `ordered` blocks around the current code: channel -> seq.
_reserved: ContextVar[dict[str, int] | None] = ContextVar("realtime_reserved", default=None)


def init_app(app: Flask) -> None:
    """This app's handler table and hub (made on first use), and socket admission."""
    app.extensions[EXTENSION] = Realtime(app)
    # Under the realtime prefix: portals (and test runs) sharing a Redis keep apart.
    app.extensions[POOL_EXTENSION] = make_pool(app.config.get("REDIS_URL", ""),
                                               prefix=app.config.get("REALTIME_REDIS_PREFIX", "portal:rt:") + "pool:")
    sockets.init_app(app)


def pool(app: Flask) -> Pool:
    """This app's pool shared by its workers (Redis when REDIS_URL is set)."""
    return app.extensions[POOL_EXTENSION]


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
    _publish(channel, html, member=None)


def publish_to(channel: str, html: str, *, member: int) -> None:
    """Send `html` to `member`'s sockets of `channel` only (in every process, in the channel's
    order); best effort like `publish`. Their pages' polling and catch-up read the same view."""
    _publish(channel, html, member=member)


def _publish(channel: str, html: str, *, member: int | None) -> None:
    reserved = _reserved.get()
    seq = reserved.pop(channel, None) if reserved else None
    if not html:
        if seq is not None:
            reserved[channel] = seq  # type: ignore[index]  # still ours: the block releases it
        return
    try:
        if member is None:
            current_hub().publish(channel, html, seq=seq)
        else:
            current_hub().publish_to(channel, html, member=member, seq=seq)
    except Exception:
        log.exception("realtime publish to %s failed", channel)


def publish_volatile(channel: str, html: str) -> None:
    """Send `html` to every socket of `channel` now, without a number: it does not move the
    channel's version (pollers keep their 304) and is not replayed by catch-up. For momentary
    frames only (a reaction burst), never for state a page must end up showing."""
    if not html:
        return
    try:
        current_hub().publish_volatile(channel, html)
    except Exception:
        log.exception("realtime volatile publish to %s failed", channel)


@contextmanager
def ordered(channel: str) -> Iterator[None]:
    """Publishes of `channel` inside this block take a number reserved on entry.

    Wrap "read the committed state, render it, publish it" (an after-commit push): the number
    is taken after the commit and before the read, so a publish with a higher number was read
    later, and every hub delivers the channel in number order. Two changes committed close
    together therefore reach every page in commit order, even when the later one's publish
    overtakes the earlier one's on the way to the broker. A reserved number the block did not
    use is released on exit (the channel moves past it at once).
    """
    try:
        hub = current_hub()
        seq = hub.reserve(channel)
    except Exception:
        log.exception("realtime reserve on %s failed", channel)
        seq = None
    if seq is None:
        yield
        return
    outer = _reserved.get()
    token = _reserved.set({**(outer or {}), channel: seq})
    try:
        yield
    finally:
        left = _reserved.get()
        _reserved.reset(token)
        if left and left.get(channel) == seq:
            try:
                hub.release(channel, seq)
            except Exception:
                log.exception("realtime release on %s failed", channel)


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
