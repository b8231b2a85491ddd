"""Calendar entries for a registration, built with the `icalendar` library (RFC 5545/5546).

One builder for the .ics download (METHOD:PUBLISH: a file to import) and the mails' calendar
parts (METHOD:REQUEST with ORGANIZER/ATTENDEE, or METHOD:CANCEL): the same UID per
registration and the webinar's SEQUENCE, so a reschedule (higher SEQUENCE) or a cancellation
updates the entry the attendee already has. Also a Google Calendar link.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import icalendar

PRODID = "-//Webinar portal//Registration//EN"
PUBLISH, REQUEST, CANCEL = "PUBLISH", "REQUEST", "CANCEL"


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


def ics(entry: Entry, *, stamp: datetime, method: str = PUBLISH, organizer: tuple[str, str] | None = None,
        attendee: tuple[str, str] | None = None) -> str:
    """The whole VCALENDAR (CRLF line endings, folded at 75 octets by icalendar).

    `method`: PUBLISH (the download), REQUEST (an invitation in a mail: needs `organizer` and
    `attendee` as (name, address)) or CANCEL (STATUS:CANCELLED; pass a SEQUENCE higher than the
    last REQUEST's)."""
    if method not in (PUBLISH, REQUEST, CANCEL):
        raise ValueError(f"unknown calendar method {method!r}")
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", method)
    event = icalendar.Event()
    event.add("uid", entry.uid)
    event.add("dtstamp", stamp.astimezone(UTC))
    event.add("sequence", entry.sequence)
    event.add("dtstart", entry.start.astimezone(UTC))
    event.add("dtend", entry.end.astimezone(UTC))
    event.add("summary", entry.title)
    event.add("description", entry.description)
    event.add("location", entry.url)
    event.add("url", entry.url)
    event.add("status", "CANCELLED" if method == CANCEL else "CONFIRMED")
    event.add("transp", "OPAQUE")
    if organizer is not None:
        event.add("organizer", icalendar.vCalAddress(f"mailto:{organizer[1]}"), parameters={"CN": organizer[0]}
                  if organizer[0] else None)
    if attendee is not None:
        params = {"ROLE": "REQ-PARTICIPANT", "PARTSTAT": "ACCEPTED", "RSVP": "FALSE"}
        if attendee[0]:
            params["CN"] = attendee[0]
        event.add("attendee", icalendar.vCalAddress(f"mailto:{attendee[1]}"), parameters=params)
    cal.add_component(event)
    return cal.to_ical().decode("utf-8")


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
