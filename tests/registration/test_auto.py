"""Registering for an auto (evergreen) webinar: the start options come from the autowebinar
schedule (portal.autowebinar.schedule.offered_starts / resolve_start)."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest

from portal.autowebinar import schedule
from portal.db_types import utcnow
from portal.extensions import db
from portal.registration.models import Registration

RADIOS = re.compile(r'type="radio" name="slot_id" value="([^"]*)"')


@pytest.fixture
def evergreen(make):
    return make.webinar(type="auto", status="live")


def test_page_offers_watch_now_and_the_next_times(app, evergreen, visitor):
    html = visitor.open(f"/w/{evergreen.slug}").get_data(as_text=True)
    expected = [o.value for o in schedule.offered_starts(evergreen, now=utcnow())]
    values = RADIOS.findall(html)
    assert values[0] == "now" and values == expected[: len(values)] and len(values) == 5
    assert "Watch now" in html and "On demand" in html
    assert re.search(r'value="now" checked', html)


def test_register_to_watch_now(app, evergreen, visitor):
    before = utcnow()
    response = visitor.register(evergreen.slug, slot_id="now")
    assert response.status_code == 303
    reg = db.session.query(Registration).one()
    assert reg.webinar_type == "auto" and reg.slot_id is None
    assert before - timedelta(seconds=1) <= reg.starts_at <= utcnow()
    html = visitor.client.get(response.headers["Location"]).get_data(as_text=True)
    assert "starts as soon as you enter" in html


def test_register_for_a_scheduled_start(app, evergreen, visitor):
    option = schedule.offered_starts(evergreen, now=utcnow())[2]
    assert visitor.register(evergreen.slug, slot_id=option.value).status_code == 303
    reg = db.session.query(Registration).one()
    assert reg.starts_at == option.starts_at
    ics = visitor.client.get(f"/w/{evergreen.slug}/calendar.ics").get_data(as_text=True)
    assert "DTSTART:" + option.starts_at.strftime("%Y%m%dT%H%M%SZ") in ics


@pytest.mark.parametrize("value", ["", "tomorrow", "2001-01-01T00:00:00Z", "17"])
def test_start_not_offered(app, evergreen, visitor, counts, value):
    before = counts()
    response = visitor.register(evergreen.slug, slot_id=value)
    assert response.status_code == 422
    assert "Please choose" in response.get_data(as_text=True) or "no longer offered" in response.get_data(as_text=True)
    assert counts() == before


def test_watch_now_needs_an_open_evergreen(app, make, visitor, counts):
    w = make.webinar(type="auto", status="scheduled")
    html = visitor.open(f"/w/{w.slug}").get_data(as_text=True)
    assert "now" not in RADIOS.findall(html)
    before = counts()
    assert visitor.register(w.slug, slot_id="now", open_first=False).status_code == 422
    assert counts() == before


def test_duplicate_with_another_start_keeps_the_first(app, evergreen, visitor, browser_factory):
    options = schedule.offered_starts(evergreen, now=utcnow())
    visitor.register(evergreen.slug, slot_id=options[1].value)
    other = browser_factory()
    response = other.register(evergreen.slug, slot_id=options[2].value)
    assert response.status_code == 200 and "already registered" in response.get_data(as_text=True)
    assert db.session.query(Registration).one().starts_at == options[1].starts_at
