"""GET /w/<slug>: what visitors see, drafts, closed states, slot choices, the source tag."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest

from portal.db_types import utcnow
from portal.extensions import db


def test_page_shows_the_webinar_and_the_form(app, make, visitor):
    speaker = make.user(role="speaker", display_name="Sam Speaker")
    w = make.webinar(status="scheduled", title="Growth <b>talk</b>", description="First line\nSecond line",
                     speakers=(speaker,), timezone="Europe/Berlin")
    response = visitor.open(f"/w/{w.slug}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Growth &lt;b&gt;talk&lt;/b&gt;" in html and "<b>talk" not in html
    assert "Sam Speaker" in html and "First line\nSecond line" in html
    assert 'data-testid="register-form"' in html
    assert f'action="/w/{w.slug}/register"' in html
    for name in ("name", "email", "slot_id", "csrf_token"):
        assert f'name="{name}"' in html
    # the start in the visitor's zone (localised by portal.js) and in the event's zone
    assert re.search(rf'<time[^>]*datetime="{re.escape(w.scheduled_at.isoformat())}"[^>]*data-local-time', html)
    assert "Europe/Berlin" in html
    assert "By registering you agree" in html
    assert "no-store" in response.headers["Cache-Control"]


def test_unknown_slug_is_404(app, visitor):
    assert visitor.open("/w/nope").status_code == 404
    assert visitor.open("/w/" + "x" * 500).status_code == 404


def test_draft_is_404_for_the_public_and_a_preview_for_its_owner(app, make, visitor, auth):
    owner = make.user(role="organizer")
    w = make.webinar(owner=owner, status="draft")
    assert visitor.open(f"/w/{w.slug}").status_code == 404
    auth.login(owner.email)
    response = auth.client.get(f"/w/{w.slug}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Preview" in html and "Registration closed" in html and 'data-testid="register-form"' not in html


def test_draft_preview_is_not_for_other_staff(app, make, auth):
    w = make.webinar(status="draft")
    stranger = make.user(role="organizer")
    auth.login(stranger.email)
    assert auth.client.get(f"/w/{w.slug}").status_code == 404


@pytest.mark.parametrize("status", ["finished", "archived"])
def test_ended_webinar_says_registration_closed(app, make, visitor, status):
    w = make.webinar(status=status)
    html = visitor.open(f"/w/{w.slug}").get_data(as_text=True)
    assert "Registration closed" in html and "has ended" in html
    assert 'data-testid="register-form"' not in html


def test_live_webinar_still_accepts_registrations(app, make, visitor):
    w = make.webinar(status="live")
    html = visitor.open(f"/w/{w.slug}").get_data(as_text=True)
    assert 'data-testid="register-form"' in html and "Live now" in html


def test_several_slots_are_offered_as_a_choice(app, make, visitor):
    now = utcnow()
    slots = (now + timedelta(hours=5), now + timedelta(days=1), now + timedelta(days=2))
    w = make.webinar(status="scheduled", slots=slots)
    past, s1, s2 = w.slots
    past.starts_at = now - timedelta(days=1)
    db.session.commit()
    html = visitor.open(f"/w/{w.slug}").get_data(as_text=True)
    values = re.findall(r'type="radio" name="slot_id" value="([^"]*)"', html)
    # The main start time (in an hour) is one of the times too (issue 12); the slot that ended is not offered.
    assert values == ["main", str(s1.slot_id), str(s2.slot_id)]


def test_one_slot_is_preselected_without_a_choice(app, make, visitor):
    w = make.webinar(status="scheduled", slots=(utcnow() + timedelta(days=1),))
    w.scheduled_at = utcnow() - timedelta(days=1)  # the main time is over: one time left
    db.session.commit()
    html = visitor.open(f"/w/{w.slug}").get_data(as_text=True)
    assert f'<input type="hidden" name="slot_id" value="{w.slots[0].slot_id}">' in html


def test_all_slots_over_means_closed(app, make, visitor):
    w = make.webinar(status="scheduled", slots=(utcnow() + timedelta(days=1),))
    w.slots[0].starts_at = utcnow() - timedelta(days=1)  # time passed since publishing
    w.scheduled_at = utcnow() - timedelta(days=2)
    db.session.commit()
    html = visitor.open(f"/w/{w.slug}").get_data(as_text=True)
    assert "Registration closed" in html and "no upcoming times" in html


@pytest.mark.parametrize("query,expected", [
    ("?utm_source=newsletter", "newsletter"),
    ("?ref=partner-42", "partner-42"),
    ("?utm_source=a%22%3E%3Cscript%3Ealert(1)%3C/script%3E", "ascriptalert1script"),
    ("?utm_source=" + "x" * 300, "x" * 64),
    ("", ""),
])
def test_source_is_carried_sanitised(app, make, visitor, query, expected):
    w = make.webinar(status="scheduled")
    html = visitor.open(f"/w/{w.slug}{query}").get_data(as_text=True)
    assert f'<input id="source" name="source" type="hidden" value="{expected}">' in html


def test_source_is_stored_with_the_registration(app, make, visitor):
    w = make.webinar(status="scheduled")
    visitor.open(f"/w/{w.slug}?utm_source=spring-mail")
    response = visitor.register(w.slug, open_first=False, source="spring-mail")
    assert response.status_code == 303
    from tests.registration.conftest import registered_events

    [event] = registered_events()
    assert event.data["source"] == "spring-mail"


def test_page_renders_in_russian(app, make, visitor):
    w = make.webinar(status="scheduled", timezone="Europe/Moscow")
    response = visitor.open(f"/w/{w.slug}", headers={"Accept-Language": "ru"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and '<html lang="ru">' in html
    assert "Europe/Moscow" in html and 'data-testid="register-form"' in html
