"""/media/recordings/<name>: uploaded recordings, served with byte ranges (seeking)."""
from __future__ import annotations

import re

from flask import Blueprint, send_from_directory

from portal.errors import NotFound
from portal.media import storage

bp = Blueprint("media", __name__, url_prefix="/media")
_NAME = re.compile(r"[0-9a-f]{32}\.(mp4|webm)")


@bp.get("/recordings/<name>")
def recording_file(name: str):
    """The name is the capability (128-bit random, like a join link's token)."""
    if not _NAME.fullmatch(name) or not storage.path_of(name).is_file():
        raise NotFound("No such recording.")
    response = send_from_directory(storage.folder(), name, conditional=True, max_age=3600)
    response.headers["X-Robots-Tag"] = "noindex"
    return response
