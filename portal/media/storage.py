"""Uploaded recordings on disk: RECORDINGS_DIR (default instance/recordings), one file each.

An upload is streamed to a `.part` file, measured, and only then renamed into place under an
unguessable name (128-bit random); a refused file is deleted at once, so nothing is stored.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import IO

from flask import current_app

from portal.errors import Invalid
from portal.media import probe

CHUNK = 1024 * 1024


class TooBig(Invalid):
    """The recording is larger than RECORDING_MAX_BYTES."""


def folder() -> Path:
    path = Path(current_app.config["RECORDINGS_DIR"] or Path(current_app.instance_path) / "recordings")
    path.mkdir(parents=True, exist_ok=True)
    return path


def max_bytes() -> int:
    return int(current_app.config["RECORDING_MAX_BYTES"])


def too_big() -> TooBig:
    return TooBig("The file is too big: recordings may be at most %(mb)s MB.", mb=max_bytes() // (1024 * 1024))


def save(stream: IO[bytes]) -> tuple[str, int, int]:
    """Store an uploaded video: (stored name, duration in seconds, size in bytes); refused
    files (not a video, unreadable length, too big) leave nothing behind."""
    part = folder() / f"{secrets.token_hex(16)}.part"
    size, limit = 0, max_bytes()
    try:
        with part.open("wb") as out:
            while chunk := stream.read(CHUNK):
                size += len(chunk)
                if size > limit:
                    raise too_big()
                out.write(chunk)
        if size == 0:
            raise probe.NotAVideo("The file is empty.")
        duration, extension = probe.file_duration(part)
        name = f"{secrets.token_hex(16)}.{extension}"
        os.replace(part, folder() / name)
    finally:
        part.unlink(missing_ok=True)
    return name, duration, size


def path_of(name: str) -> Path:
    return folder() / name


def remove(name: str | None) -> None:
    """Delete a stored recording (a replaced or removed one)."""
    if name:
        (folder() / Path(name).name).unlink(missing_ok=True)
