"""The .ics download and the calendar helpers (RFC 5545: CRLF, escaping, folding, stable UID)."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from portal.extensions import db
from portal.registration import calendar

START = datetime(2030, 5, 6, 16, 30, tzinfo=UTC)


def _unfold(text: str) -> list[str]:
    return text.replace("\r\n ", "").split("\r\n")


def _prop(text: str, name: str) -> str:
    for line in _unfold(text):
        if line.startswith(name + ":"):
            return line[len(name) + 1:]
    raise AssertionError(f"{name} missing")


@pytest.fixture
def registered(make, visitor):
    w = make.webinar(status="scheduled", title="Pricing, taxes; and \\ backslashes", scheduled_at=START,
                     duration_minutes=90, description="Über alles — " + "long text " * 20)
    assert visitor.register(w.slug).status_code == 303
    return w


def test_ics_download(app, registered, visitor):
    response = visitor.client.get(f"/w/{registered.slug}/calendar.ics")
    body = response.get_data()
    text = body.decode("utf-8")
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    assert 'attachment; filename="' in response.headers["Content-Disposition"]
    assert "no-store" in response.headers["Cache-Control"]
    # CRLF everywhere, never a bare LF, ends with CRLF
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")
    # no physical line longer than 75 octets
    assert all(len(line.encode("utf-8")) <= 75 for line in text.split("\r\n"))
    assert text.startswith("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:")
    assert _prop(text, "DTSTART") == "20300506T163000Z"
    assert _prop(text, "DTEND") == "20300506T180000Z"
    assert _prop(text, "SUMMARY") == "Pricing\\, taxes\\; and \\\\ backslashes"
    link = _prop(text, "URL")
    assert re.fullmatch(r"http://localhost/room/[A-Za-z0-9_\-]{32}", link)
    assert link in _prop(text, "DESCRIPTION") and "Über alles" in _prop(text, "DESCRIPTION")
    assert re.fullmatch(r"registration-\d+@localhost", _prop(text, "UID"))
    assert _prop(text, "SEQUENCE") == "0"


def test_uid_is_stable_across_downloads_and_a_sequence_bump(app, registered, visitor):
    first = visitor.client.get(f"/w/{registered.slug}/calendar.ics").get_data(as_text=True)
    second = visitor.client.get(f"/w/{registered.slug}/calendar.ics").get_data(as_text=True)
    assert _prop(first, "UID") == _prop(second, "UID")
    # an organizer reschedules: the sequence goes up, the UID stays
    registered.calendar_sequence = 1
    registered.scheduled_at = START + timedelta(days=1)
    db.session.commit()
    third = visitor.client.get(f"/w/{registered.slug}/calendar.ics").get_data(as_text=True)
    assert _prop(third, "UID") == _prop(first, "UID")
    assert _prop(third, "SEQUENCE") == "1" and _prop(third, "DTSTART") == "20300507T163000Z"


def test_each_registration_has_its_own_uid(app, registered, browser_factory, visitor):
    other = browser_factory()
    other.register(registered.slug, email="bob@example.com")
    mine = visitor.client.get(f"/w/{registered.slug}/calendar.ics").get_data(as_text=True)
    theirs = other.client.get(f"/w/{registered.slug}/calendar.ics").get_data(as_text=True)
    assert _prop(mine, "UID") != _prop(theirs, "UID")
    assert _prop(mine, "URL") != _prop(theirs, "URL")


def test_slot_start_is_used(app, make, visitor):
    w = make.webinar(status="scheduled", slots=(START, START + timedelta(days=7)))
    visitor.register(w.slug, slot_id=str(w.slots[1].slot_id))
    text = visitor.client.get(f"/w/{w.slug}/calendar.ics").get_data(as_text=True)
    assert _prop(text, "DTSTART") == "20300513T163000Z"


def test_google_link_on_the_confirmation(app, registered, visitor):
    html = visitor.client.get(f"/w/{registered.slug}/registered").get_data(as_text=True)
    match = re.search(r'href="(https://calendar\.google\.com/calendar/render\?[^"]+)"', html)
    assert match and "dates=20300506T163000Z%2F20300506T180000Z" in match.group(1).replace("&amp;", "&")


def test_uid_host_has_no_port():
    assert calendar.uid_for(7, "example.com:8443") == "registration-7@example.com"
