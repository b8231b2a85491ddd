"""Reading a recording's duration from the file itself, never from a typed number.

MP4 / MOV and WebM / Matroska are parsed by hachoir (pure Python, no ffmpeg on the server:
Debian's ffmpeg is not on these machines and would be a heavy system dependency for one
number). HLS playlists are summed from their #EXTINF lines: the subset we read (EXTINF and
the first variant of a master playlist) is a dozen lines, so no playlist library for it.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

from hachoir.core import config as hachoir_config  # type: ignore[import-untyped]
from hachoir.metadata import extractMetadata  # type: ignore[import-untyped]
from hachoir.parser import createParser  # type: ignore[import-untyped]

from portal.errors import Invalid

hachoir_config.quiet = True  # its parse warnings go to stdout; a refusal says what went wrong

MAX_SECONDS = 24 * 3600
VIDEO_MIME = {"video/mp4": "mp4", "video/quicktime": "mp4", "video/webm": "webm", "video/x-matroska": "webm"}


class NotAVideo(Invalid):
    """The file is no video the portal can play, or its length cannot be read."""


def file_duration(path: str | Path) -> tuple[int, str]:
    """(whole seconds, extension "mp4"/"webm") of a video file; NotAVideo otherwise."""
    try:
        parser = createParser(str(path))
    except Exception:  # hachoir raises many kinds on garbage; all mean "not a video"
        parser = None
    if parser is None:
        raise NotAVideo("This file is not a video the portal can play (MP4 or WebM).")
    with parser:
        try:
            metadata = extractMetadata(parser)
        except Exception:
            metadata = None
        mime = str(parser.mime_type or "")
    extension = VIDEO_MIME.get(mime)
    if extension is None:
        raise NotAVideo("This file is not a video the portal can play (MP4 or WebM).")
    duration = metadata.get("duration", None) if metadata is not None and metadata.has("duration") else None
    if duration is None:
        raise NotAVideo("The length of this video cannot be read from the file.")
    return _whole(duration.total_seconds()), extension


def playlist_duration(text: str, *, fetch: Callable[[str], str] | None = None) -> int:
    """Whole seconds of an HLS playlist (sum of #EXTINF); a master playlist is measured by its
    first variant, read with `fetch(uri)`."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines or lines[0] != "#EXTM3U":
        raise NotAVideo("This link is not an HLS playlist.")
    variant = next((lines[i + 1] for i, line in enumerate(lines[:-1]) if line.startswith("#EXT-X-STREAM-INF")), None)
    if variant is not None:
        if fetch is None:
            raise NotAVideo("The length of this video cannot be read from the file.")
        return playlist_duration(fetch(variant))
    if not any(line.startswith("#EXT-X-ENDLIST") for line in lines):
        raise NotAVideo("This playlist is a live stream without an end; link a finished recording.")
    total = 0.0
    for line in lines:
        if line.startswith("#EXTINF:"):
            try:
                total += float(line.removeprefix("#EXTINF:").split(",", 1)[0])
            except ValueError:
                raise NotAVideo("The length of this video cannot be read from the file.") from None
    return _whole(total)


def _whole(seconds: float) -> int:
    """Rounded up, so the last frame counts: 100 % stays reachable."""
    if not math.isfinite(seconds) or seconds <= 0:
        raise NotAVideo("The length of this video cannot be read from the file.")
    if seconds > MAX_SECONDS:
        raise NotAVideo("Recordings may be at most 24 hours long.")
    return max(1, math.ceil(seconds - 0.001))
