"""Calendar entries for a registration: an RFC 5545 .ics file and a Google Calendar link."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

PRODID = "-//Webinar portal//Registration//EN"
CRLF = "\r\n"
LINE_OCTETS = 75  # RFC 5545 §3.1: lines longer than 75 octets are folded


@dataclass(frozen=True)
class Entry:
    """What a calendar needs to know about one attendee's webinar."""

    uid: str
    sequence: int
    start: datetime
    end: datetime
    title: str
    description: str
    url: str


def uid_for(registration_id: int, host: str) -> str:
    """Stable per registration, so re-downloads and reschedules update the same entry."""
    return f"registration-{registration_id}@{host.split(':')[0] or 'localhost'}"


def end_of(start: datetime, *, minutes: int) -> datetime:
    return start + timedelta(minutes=max(minutes, 1))


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def escape_text(value: str) -> str:
    """TEXT value escaping (RFC 5545 §3.3.11)."""
    value = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    return value.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\\n")


def fold(line: str) -> str:
    """Fold a content line at 75 octets without splitting a UTF-8 character."""
    out: list[str] = []
    current, size = "", 0
    limit = LINE_OCTETS
    for ch in line:
        width = len(ch.encode("utf-8"))
        if size + width > limit:
            out.append(current)
            current, size = " ", 1  # continuation lines begin with one space
        current += ch
        size += width
    out.append(current)
    return CRLF.join(out)


def ics(entry: Entry, *, stamp: datetime) -> str:
    """The whole VCALENDAR with CRLF line endings."""
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "BEGIN:VEVENT",
        f"UID:{entry.uid}",
        f"DTSTAMP:{_utc(stamp)}",
        f"SEQUENCE:{entry.sequence}",
        f"DTSTART:{_utc(entry.start)}",
        f"DTEND:{_utc(entry.end)}",
        f"SUMMARY:{escape_text(entry.title)}",
        f"DESCRIPTION:{escape_text(entry.description)}",
        f"LOCATION:{escape_text(entry.url)}",
        f"URL:{entry.url}",
        "STATUS:CONFIRMED",
        "TRANSP:OPAQUE",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return CRLF.join(fold(line) for line in lines) + CRLF


def google_link(entry: Entry) -> str:
    """A Google Calendar "add event" link with the same start, end and join link."""
    query = urlencode(
        {
            "action": "TEMPLATE",
            "text": entry.title,
            "dates": f"{_utc(entry.start)}/{_utc(entry.end)}",
            "details": entry.description,
            "location": entry.url,
        }
    )
    return f"https://calendar.google.com/calendar/render?{query}"
