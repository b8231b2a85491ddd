"""WebVTT captions of a recording (issue 15): one file per language, stored next to the uploads.

No table: a recording's captions are the files `captions/<key>/<lang>.vtt` under RECORDINGS_DIR,
where `key` is an HMAC of the recording's id (unguessable, like an upload's name, so the served
URL is the capability). Replacing the recording drops its captions with it (they were timed to
the old video). A file is accepted only if it parses as WebVTT; a refused one stores nothing.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from babel import Locale, UnknownLocaleError
from flask import current_app, url_for

from portal.core.models import User, Webinar
from portal.core.permissions import Action, require
from portal.errors import Conflict, Invalid, NotFound
from portal.media import storage
from portal.media.models import Recording

log = logging.getLogger(__name__)

MAX_BYTES = 1024 * 1024
LANG = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})?")
_KEY = re.compile(r"[0-9a-f]{32}")
_TIME = r"(?:(\d{2,}):)?([0-5]\d):([0-5]\d)\.(\d{3})"
_TIMING = re.compile(rf"{_TIME}[ \t]+-->[ \t]+{_TIME}(?:[ \t].*)?")
_TAG = re.compile(r"<[^>]*>")


@dataclass(frozen=True)
class Cue:
    start: float
    end: float
    text: str


@dataclass(frozen=True)
class Track:
    lang: str
    label: str
    src: str
    transcript: str


def _seconds(hours: str | None, minutes: str, seconds: str, millis: str) -> float:
    return int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds) + int(millis) / 1000


def parse(raw: bytes) -> list[Cue]:
    """The cues of a WebVTT file; Invalid when it is not one (header, timings, at least one cue)."""
    try:
        text = raw.decode("utf-8").lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    except UnicodeDecodeError:
        raise Invalid("The captions file is not UTF-8 text.") from None
    lines = text.split("\n")
    if not re.fullmatch(r"WEBVTT([ \t].*)?", lines[0]):
        raise Invalid("This is not a WebVTT file: it must start with the line WEBVTT.")
    cues: list[Cue] = []
    for number, block in _blocks(lines[1:]):
        timing = next((i for i, line in enumerate(block) if "-->" in line), None)
        if timing is None or timing > 1:
            continue  # NOTE, STYLE and REGION blocks carry no cue
        match = _TIMING.fullmatch(block[timing].strip())
        if match is None:
            raise Invalid("Line %(n)s: the cue timing must look like 00:01.000 --> 00:04.000.", n=number + timing)
        start, end = _seconds(*match.groups()[:4]), _seconds(*match.groups()[4:])
        if end <= start:
            raise Invalid("Line %(n)s: a cue must end after it starts.", n=number + timing)
        cues.append(Cue(start, end, "\n".join(block[timing + 1:])))
    if not cues:
        raise Invalid("The captions file has no cues.")
    return cues


def _blocks(lines: list[str]):
    """(first line number, lines) of each block separated by blank lines."""
    block: list[str] = []
    for number, line in enumerate(lines, start=2):
        if line.strip():
            block.append(line)
            continue
        if block:
            yield number - len(block), block
        block = []
    if block:
        yield len(lines) + 2 - len(block), block


def transcript(cues: list[Cue]) -> str:
    """The cue text alone (tags removed, repeated lines once): what was said, in order."""
    out: list[str] = []
    for cue in cues:
        for line in cue.text.split("\n"):
            line = _TAG.sub("", line).strip()
            if line and (not out or out[-1] != line):
                out.append(line)
    return "\n".join(out) + "\n"


def key_of(recording: Recording) -> str:
    secret = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(secret, f"captions:{recording.recording_id}".encode(), hashlib.sha256).hexdigest()[:32]


def _folder(key: str) -> Path:
    return storage.folder() / "captions" / key


def label_of(lang: str) -> str:
    """The language's own name ("English", "русский"), or the code when babel does not know it."""
    try:
        name = Locale.parse(lang.replace("-", "_")).get_display_name()
    except (ValueError, UnknownLocaleError):
        return lang
    return name[:1].upper() + name[1:] if name else lang


def _lang(raw: str) -> str:
    lang = (raw or "").strip()
    if not LANG.fullmatch(lang):
        raise Invalid("Give the captions' language as a code such as en, ru or pt-BR.")
    return lang


def attach(webinar: Webinar, recording: Recording | None, lang: str, raw: bytes, *, actor: User) -> str:
    """Store (or replace) the captions in `lang` of the webinar's recording."""
    require(actor, Action.EDIT, webinar)
    if recording is None:
        raise Conflict("Add the recording of the webinar first.")
    lang = _lang(lang)
    if len(raw) > MAX_BYTES:
        raise Invalid("The captions file is too big: at most %(kb)s KB.", kb=MAX_BYTES // 1024)
    parse(raw)
    folder = _folder(key_of(recording))
    folder.mkdir(parents=True, exist_ok=True)
    part = folder / f".{lang}.part"
    part.write_bytes(raw)
    os.replace(part, folder / f"{lang}.vtt")
    log.info("webinar %s recording %s captions %s by user %s", webinar.webinar_id, recording.recording_id, lang,
             actor.user_id)
    return lang


def remove(webinar: Webinar, recording: Recording | None, lang: str, *, actor: User) -> None:
    """Delete the captions in `lang`."""
    require(actor, Action.EDIT, webinar)
    if recording is None:
        raise Conflict("Add the recording of the webinar first.")
    path = _folder(key_of(recording)) / f"{_lang(lang)}.vtt"
    if not path.is_file():
        raise NotFound("No captions in that language.")
    path.unlink()
    log.info("webinar %s captions %s removed by user %s", webinar.webinar_id, lang, actor.user_id)


def drop_all(key: str) -> None:
    """Forget a replaced recording's captions (by its `key_of`)."""
    shutil.rmtree(_folder(key), ignore_errors=True)


def tracks(recording: Recording | None) -> list[Track]:
    """The recording's caption tracks, by language code."""
    if recording is None:
        return []
    key = key_of(recording)
    folder = _folder(key)
    if not folder.is_dir():
        return []
    langs = sorted(p.stem for p in folder.glob("*.vtt") if LANG.fullmatch(p.stem))
    return [Track(lang, label_of(lang), url_for("media.caption_file", key=key, lang=lang),
                  url_for("media.transcript_file", key=key, lang=lang)) for lang in langs]


def file_of(key: str, lang: str) -> Path:
    """A stored captions file by its served key; NotFound otherwise."""
    if not _KEY.fullmatch(key) or not LANG.fullmatch(lang):
        raise NotFound("No such captions.")
    path = _folder(key) / f"{lang}.vtt"
    if not path.is_file():
        raise NotFound("No such captions.")
    return path
