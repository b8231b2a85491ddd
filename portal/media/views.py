"""/media/recordings/<name>: uploaded recordings, served with byte ranges (seeking);
/media/captions/<key>/<lang>.vtt and .txt: a recording's captions and their transcript."""
from __future__ import annotations

import re

from flask import Blueprint, Response, send_from_directory

from portal.errors import NotFound
from portal.media import captions, storage

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


@bp.get("/captions/<key>/<lang>.vtt")
def caption_file(key: str, lang: str):
    """The key is the capability (an HMAC of the recording's id)."""
    path = captions.file_of(key, lang)
    response = send_from_directory(path.parent, path.name, mimetype="text/vtt", conditional=True, max_age=300)
    response.headers["X-Robots-Tag"] = "noindex"
    return response


@bp.get("/captions/<key>/<lang>.txt")
def transcript_file(key: str, lang: str):
    """What was said, as plain text to download."""
    path = captions.file_of(key, lang)
    text = captions.transcript(captions.parse(path.read_bytes()))
    return Response(text, mimetype="text/plain", headers={
        "Content-Disposition": f'attachment; filename="transcript-{lang}.txt"', "X-Robots-Tag": "noindex"})
