"""Registry of socket message handlers, keyed by the frame's `type` field.

Other domains register at import time, e.g. ``handlers.register("chat", handle_chat)``;
a handler is ``fn(ctx: SocketContext, payload: dict) -> None`` and answers with
``ctx.send(html)`` or by publishing. It may raise portal.errors.PortalError subclasses:
their message goes back to that socket as an error fragment.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from portal.realtime.context import SocketContext

Handler = Callable[["SocketContext", dict[str, Any]], None]

REGISTRY: dict[str, Handler] = {}


def register(type_: str, fn: Handler) -> Handler:
    """Route frames whose `type` is `type_` to `fn`; a second, different handler for a type is a bug."""
    existing = REGISTRY.get(type_)
    if existing is not None and existing is not fn and _qualname(existing) != _qualname(fn):
        raise ValueError(f"socket message type {type_!r} already handled by {_qualname(existing)}")
    REGISTRY[type_] = fn
    return fn


def lookup(type_: str) -> Handler | None:
    return REGISTRY.get(type_)


def _qualname(fn: Handler) -> str:
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"
