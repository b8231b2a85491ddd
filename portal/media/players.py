"""Player kinds of a live stream: which URL a stream type accepts and what the page embeds.

OBS streams are HLS played by our own player; YouTube and Vimeo are embedded (an iframe of
the host's player, the portal keeps chat, CTA and counts); Zoom and Telegram stay links.
A pasted YouTube or Vimeo URL is parsed to its video id and rebuilt as the embed URL, so
what is stored (and framed) is always one of EMBED_ORIGINS: a forged host, a `javascript:`
URL or a look-alike domain never reaches a page.
"""
from __future__ import annotations

import re
from urllib.parse import SplitResult, parse_qs, urlsplit

from portal import csp
from portal.core.models import StreamType, Webinar
from portal.errors import Invalid

EMBEDDED = (StreamType.youtube.value, StreamType.vimeo.value)
EMBED_ORIGINS = {
    StreamType.youtube.value: ("https://www.youtube-nocookie.com",),
    StreamType.vimeo.value: ("https://player.vimeo.com", "https://vimeo.com"),
}
_YOUTUBE_HOSTS = {"youtube.com", "www.youtube.com", "m.youtube.com", "youtu.be",
                  "youtube-nocookie.com", "www.youtube-nocookie.com"}
_VIMEO_HOSTS = {"vimeo.com", "www.vimeo.com", "player.vimeo.com"}
_YOUTUBE_ID = re.compile(r"[A-Za-z0-9_-]{11}")
_DIGITS = re.compile(r"[0-9]{1,12}")


def embed_url(stream_type: str, url: str) -> str:
    """The embed URL of a pasted YouTube / Vimeo link; Invalid for anything else."""
    parts = _https_parts(url)
    if stream_type == StreamType.youtube.value:
        video = _youtube_id(parts) if parts and parts.hostname in _YOUTUBE_HOSTS else None
        if video is None:
            raise Invalid("Paste a YouTube video or live link (youtube.com/watch?v=… or youtu.be/…).")
        return f"https://www.youtube-nocookie.com/embed/{video}"
    if stream_type == StreamType.vimeo.value:
        found = _vimeo(parts) if parts and parts.hostname in _VIMEO_HOSTS else None
        if found is None:
            raise Invalid("Paste a Vimeo video or event link (vimeo.com/123456789).")
        kind, number = found
        return f"https://vimeo.com/event/{number}/embed" if kind == "event" else f"https://player.vimeo.com/video/{number}"
    raise Invalid("This stream type is not embedded.")


def is_embedded(webinar: Webinar) -> bool:
    return webinar.stream_type in EMBEDDED


def allow(webinar: Webinar) -> None:
    """Widen this response's CSP to exactly what the webinar's players load, nothing more."""
    if is_embedded(webinar):
        origin = csp.origin_of(webinar.stream_url)
        if origin in EMBED_ORIGINS[webinar.stream_type]:  # stored validated; re-checked because it is framed
            csp.allow_frame(origin)
    else:
        csp.allow_media(webinar.stream_url)
    csp.allow_media(webinar.recording_url)


def _https_parts(url: str) -> SplitResult | None:
    url = (url or "").strip()
    if not url or any(ch.isspace() or ord(ch) < 32 for ch in url):
        return None
    if url.startswith("//"):
        return None
    if "://" not in url:
        url = "https://" + url  # "youtu.be/abc" pasted without a scheme
    try:
        parts = urlsplit(url)
        _ = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or parts.username or parts.password or parts.port not in (None, 443, 80):
        return None
    return parts


def _youtube_id(parts: SplitResult) -> str | None:
    segments = [s for s in parts.path.split("/") if s]
    if parts.hostname == "youtu.be":
        candidate = segments[0] if len(segments) == 1 else ""
    elif segments == ["watch"]:
        candidate = (parse_qs(parts.query).get("v") or [""])[0]
    elif len(segments) == 2 and segments[0] in ("embed", "live", "shorts", "v"):
        candidate = segments[1]
    else:
        candidate = ""
    return candidate if _YOUTUBE_ID.fullmatch(candidate) else None


def _vimeo(parts: SplitResult) -> tuple[str, str] | None:
    segments = [s for s in parts.path.split("/") if s]
    if parts.hostname == "player.vimeo.com":
        ok = len(segments) == 2 and segments[0] == "video" and _DIGITS.fullmatch(segments[1])
        return ("video", segments[1]) if ok else None
    if len(segments) in (2, 3) and segments[0] == "event" and _DIGITS.fullmatch(segments[1]) \
            and segments[2:] in ([], ["embed"]):
        return ("event", segments[1])
    if len(segments) == 1 and _DIGITS.fullmatch(segments[0]):
        return ("video", segments[0])
    return None
