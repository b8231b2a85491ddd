"""Socket endpoints for the domains: `route()` adds one to a blueprint, admitted before the
handshake by the domain's `admit` and served by portal.realtime.connection."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Flask, current_app, g, request, url_for

from portal.extensions import sock
from portal.realtime.admission import Admission, require_origin
from portal.realtime.connection import OnClose, OnOpen, serve
from portal.realtime.reader import InlineReader, NoEvent
from portal.realtime.runtime import state

Admit = Callable[..., Admission]
_ADMIT = "realtime_admit"


def route(bp: Blueprint, rule: str, *, endpoint: str, admit: Admit,
          on_open: OnOpen | None = None, on_close: OnClose | None = None) -> None:
    """A socket endpoint at `rule` on `bp`. `admit(**view_args)` runs before the handshake and
    returns the Admission or raises a PortalError (the handshake is then refused with its
    status); `on_open(ctx)` / `on_close(ctx, reason)` tell the domain the socket came and went."""

    def view(ws: Any, **_: Any) -> None:
        serve(ws, g.realtime_admission, realtime=state(), hub=g.realtime_hub, on_open=on_open, on_close=on_close)

    view.__name__ = view.__qualname__ = endpoint
    setattr(view, _ADMIT, admit)  # functools.wraps in flask-sock carries it to the routed view
    sock.route(rule, bp=bp)(view)


def url(endpoint: str, **values: Any) -> str:
    """The path of a socket endpoint. url_for builds ws:// URLs for websocket rules; a path
    lets the page use its own scheme and host (wss:// behind a TLS proxy)."""
    return urlsplit(url_for(endpoint, **values)).path


def _admit_socket() -> None:
    """Refuse a socket before its handshake (403 foreign Origin, else the domain's refusal)."""
    rule = request.url_rule
    if rule is None or not getattr(rule, "websocket", False):
        return
    require_origin(request.headers.get("Origin"), host=request.host, base_url=current_app.config.get("BASE_URL", ""))
    admit = getattr(current_app.view_functions.get(request.endpoint or ""), _ADMIT, None)
    if admit is None:
        raise LookupError(f"socket endpoint {request.endpoint} was not made with realtime.route()")
    g.realtime_admission = admit(**(request.view_args or {}))
    # Frames are built once per channel, so no per-socket compression is negotiated.
    request.environ.pop("HTTP_SEC_WEBSOCKET_EXTENSIONS", None)
    g.realtime_hub = state().hub()


def init_app(app: Flask) -> None:
    # simple-websocket starts no reader thread: each socket is read by its own request.
    options = app.config.get("SOCK_SERVER_OPTIONS", {})
    app.config["SOCK_SERVER_OPTIONS"] = {**options, "thread_class": InlineReader, "event_class": NoEvent}
    app.before_request(_admit_socket)
