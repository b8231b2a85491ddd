"""Cleaning of what visitors type or carry in links: names and the traffic source."""
from __future__ import annotations

import re
import unicodedata
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from portal.errors import Invalid

NAME_MAX = 120
SOURCE_MAX = 64
EMAIL_MAX = 254
ZONE_MAX = 64

_WHITESPACE = re.compile(r"\s+")
_SOURCE_UNSAFE = re.compile(r"[^A-Za-z0-9._\-:+]")
_MARKUP = frozenset("<>")


def _without_format_chars(text: str) -> str:
    """Drop invisible format characters (zero-width spaces, joiners, BOM, bidi overrides)."""
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cf")


def clean_name(raw: str | None) -> str:
    """A display name fit to store: NFC, invisible characters removed, whitespace collapsed.

    Refuses empty or oversized names, markup characters and control characters with Invalid
    (details["field"] == "name"), so a form can show the message next to the field.
    """
    text = unicodedata.normalize("NFC", raw or "")
    text = _WHITESPACE.sub(" ", _without_format_chars(text)).strip()
    if not text:
        raise Invalid("Please enter your name.", details={"field": "name"})
    if len(text) > NAME_MAX:
        raise Invalid("Please use at most 120 characters.", details={"field": "name"})
    if any(ch in _MARKUP for ch in text):
        raise Invalid("Please leave out the characters < and >.", details={"field": "name"})
    if any(unicodedata.category(ch) in ("Cc", "Cs", "Co") for ch in text):
        raise Invalid("The name contains control characters.", details={"field": "name"})
    return text


def clean_source(raw: str | None) -> str:
    """A short, harmless traffic source tag from ?utm_source= / ?ref= (or "" if none)."""
    text = unicodedata.normalize("NFKC", raw or "").strip()
    return _SOURCE_UNSAFE.sub("", text.replace(" ", "_"))[:SOURCE_MAX]


def clean_timezone(raw: str | None) -> str | None:
    """The IANA zone a browser reported (Intl...resolvedOptions().timeZone), or None when it is
    missing or not a zone zoneinfo knows: mails then show the webinar's zone. Never refuses
    a registration (the field is filled by a script, not typed)."""
    name = (raw or "").strip()
    if not name or len(name) > ZONE_MAX or name.startswith(("/", ".")) or ".." in name or "\\" in name:
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None
    return name
