"""Linked recordings: the duration is read from the linked file or playlist, as for uploads.

A path on this site (/static/…) is read from the static folder; an http(s) link is fetched
once (no redirects, a timeout, at most RECORDING_MAX_BYTES, into a temporary file that is
deleted after measuring). In production a link to a private or loopback address is refused:
the portal must not be a way to probe its own network.
"""
from __future__ import annotations

import ipaddress
import socket
import tempfile
from pathlib import Path
from typing import IO
from urllib.parse import urljoin, urlsplit

import httpx
from flask import current_app

from portal.errors import Invalid
from portal.media import probe, storage

TIMEOUT = 10.0


class BadLink(Invalid):
    """A recording link that is no http(s) URL or path on this site, or cannot be read."""


def duration(url: str) -> int:
    """Whole seconds of the linked recording (a video file or an HLS playlist)."""
    url = (url or "").strip()
    if url.startswith("/") and not url.startswith("//"):
        return _local_duration(url)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password \
            or any(ch.isspace() for ch in url) or len(url) > 2000:
        raise BadLink("Enter a link starting with https:// (or a path on this site).")
    if _is_playlist(url):
        return probe.playlist_duration(_fetch_text(url), fetch=lambda uri: _fetch_text(urljoin(url, uri)))
    with tempfile.NamedTemporaryFile(dir=storage.folder(), suffix=".part") as out:
        _fetch_into(url, out)
        return probe.file_duration(out.name)[0]


def _local_duration(path: str) -> int:
    static = Path(current_app.static_folder or "").resolve()
    url_path = current_app.static_url_path or "/static"
    if not path.startswith(url_path + "/"):
        raise BadLink("A path on this site must point to a file under %(path)s/.", path=url_path)
    file = (static / path.removeprefix(url_path + "/").split("?", 1)[0]).resolve()
    if not file.is_relative_to(static) or not file.is_file():
        raise BadLink("There is no file at this path.")
    if file.suffix.lower() == ".m3u8":
        return probe.playlist_duration(file.read_text(errors="replace"),
                                       fetch=lambda uri: _local_text(file.parent, uri, static))
    return probe.file_duration(file)[0]


def _local_text(base: Path, uri: str, static: Path) -> str:
    file = (base / uri).resolve()
    if not file.is_relative_to(static) or not file.is_file():
        raise BadLink("The playlist points to a file that does not exist.")
    return file.read_text(errors="replace")


def _is_playlist(url: str) -> bool:
    return urlsplit(url).path.lower().endswith(".m3u8")


def _fetch_text(url: str) -> str:
    with tempfile.TemporaryFile() as out:
        _fetch_into(url, out, limit=1024 * 1024)
        out.seek(0)
        return out.read().decode("utf-8", errors="replace")


def _fetch_into(url: str, out: IO[bytes], *, limit: int | None = None) -> None:
    limit = limit or storage.max_bytes()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadLink("Enter a link starting with https:// (or a path on this site).")
    _refuse_private(parts.hostname)  # every fetch: a playlist's variant may point elsewhere
    size = 0
    try:
        with httpx.stream("GET", url, timeout=TIMEOUT, follow_redirects=False) as response:
            if response.status_code != 200:
                raise BadLink("The link answered %(status)s; link the recording file itself.",
                              status=response.status_code)
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > limit:
                    raise storage.too_big()
                out.write(chunk)
    except httpx.HTTPError:
        raise BadLink("The link cannot be reached from the portal.") from None
    out.flush()


def _refuse_private(host: str) -> None:
    if current_app.config.get("ENV") != "production":
        return
    try:
        addresses = {str(info[4][0]) for info in socket.getaddrinfo(host, None)}
    except OSError:
        raise BadLink("The link cannot be reached from the portal.") from None
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if not ip.is_global:
            raise BadLink("Links to private network addresses are refused.")
