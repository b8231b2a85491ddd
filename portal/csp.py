"""The Content-Security-Policy: one strict policy for every response, widened per response only
by the media a page really plays.

No blanket `https:`: a room page names the origin of its webinar's HLS stream or recording
(`allow_media(url)`: media-src for native playback, connect-src for hls.js fetching the
playlist and segments); everything else is same-origin. `object-src 'none'` and `base-uri
'none'` (no plugin, no <base> hijacking); no inline script or style anywhere (templates carry
none; htmx's indicator styles are off in base.html's htmx-config); the websocket is
same-origin (`'self'`, plus the explicit ws(s):// origin for browsers whose 'self' does not
cover websockets); the HLS player's MSE buffers and worker are `blob:`. Frames are refused
except on a page that embeds a YouTube / Vimeo player (`allow_frame`, https origins only).
"""
from __future__ import annotations

from functools import lru_cache
from urllib.parse import urlsplit

from flask import g, has_request_context, request

_EXTRA = "portal_csp_media"
_FRAMES = "portal_csp_frames"


def allow_media(*urls: str | None) -> None:
    """Let this response's page load media from the origins of `urls` (http(s) only)."""
    origins = g.setdefault(_EXTRA, [])
    for url in urls:
        origin = origin_of(url)
        if origin and origin not in origins:
            origins.append(origin)


def allow_frame(*origins: str | None) -> None:
    """Let this response's page frame players from `origins` (portal.media.players passes
    only the embed origins of YouTube / Vimeo, and only on pages that embed them)."""
    frames = g.setdefault(_FRAMES, [])
    for url in origins:
        origin = origin_of(url)
        if origin and origin.startswith("https://") and origin not in frames:
            frames.append(origin)


def origin_of(url: str | None) -> str | None:
    """scheme://host[:port] of an absolute http(s) URL; None for relative or other URLs."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
        host, port = parts.hostname, parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not host or any(c in host for c in " ;,'\""):
        return None
    return f"{parts.scheme}://{host}{f':{port}' if port else ''}"


def policy() -> str:
    if not has_request_context():
        return _policy((), (), None)
    host = request.host
    socket = f"{'wss' if request.is_secure else 'ws'}://{host}" if host else None
    return _policy(tuple(g.get(_EXTRA, ())), tuple(g.get(_FRAMES, ())), socket)


@lru_cache(maxsize=256)
def _policy(media: tuple[str, ...], frames: tuple[str, ...], socket: str | None) -> str:
    """The policy string, built once per (media, frames, socket origin): most responses share
    one, and joining it on every request was measurable on a 304 poll (issue 14). Bounded: the
    Host header (in `socket`) is the client's to choose."""
    directives = [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        " ".join(["media-src 'self' blob:", *media]),
        "worker-src 'self' blob:",
        " ".join(["connect-src 'self'", *([socket] if socket else []), *media]),
        f"frame-src {' '.join(frames)}" if frames else "frame-src 'none'",
        "frame-ancestors 'none'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
    ]
    return "; ".join(directives)
