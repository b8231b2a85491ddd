"""Refused registrations: a clear message, the right status, and nothing stored."""
from __future__ import annotations

from datetime import timedelta

import pytest

from portal.db_types import utcnow


@pytest.fixture
def webinar(make):
    return make.webinar(status="scheduled")


def _errors(response) -> str:
    return response.get_data(as_text=True)


@pytest.mark.parametrize("name,message", [
    ("", "Please enter your name."),
    ("   ", "Please enter your name."),
    ("\u200b\u200c\u200d\ufeff", "Please enter your name."),
    ("x" * 121, "Please use at most 120 characters."),
    ("y" * 5000, "Please use at most 120 characters."),
    ("<b>Ann</b>", "Please leave out the characters &lt; and &gt;."),
    ('<img src=x onerror="alert(1)">', "Please leave out the characters &lt; and &gt;."),
    ("Ann\x07Lee", "The name contains control characters."),
])
def test_bad_name(app, webinar, visitor, counts, name, message):
    before = counts()
    response = visitor.register(webinar.slug, name=name)
    html = _errors(response)
    assert response.status_code == 422
    assert message in html and 'data-testid="register-form"' in html
    assert "<b>Ann</b>" not in html and "<img src=x" not in html  # escaped when echoed back
    assert counts() == before


@pytest.mark.parametrize("email", ["", "ann", "ann@", "@example.com", "ann@@example.com", "a b@example.com",
                                   "ann@example..test", "a\u200b@example.com", "a" * 250 + "@example.com"])
def test_bad_email(app, webinar, visitor, counts, email):
    before = counts()
    response = visitor.register(webinar.slug, email=email)
    assert response.status_code == 422
    assert "Please enter" in _errors(response) or "at most" in _errors(response)
    assert counts() == before


def test_values_are_kept_when_the_form_is_refused(app, webinar, visitor):
    html = _errors(visitor.register(webinar.slug, name="Ann Lee", email="nope"))
    assert 'value="Ann Lee"' in html and 'value="nope"' in html


@pytest.mark.parametrize("slot_id", ["999999", "abc", "-1", "1 OR 1=1"])
def test_unknown_slot_on_a_webinar_with_slots(app, make, visitor, counts, slot_id):
    w = make.webinar(status="scheduled", slots=(utcnow() + timedelta(days=1), utcnow() + timedelta(days=2)))
    before = counts()
    response = visitor.register(w.slug, slot_id=slot_id)
    assert response.status_code == 422 and "Unknown time slot" in _errors(response)
    assert counts() == before


def test_slot_of_another_webinar(app, make, visitor, counts):
    w = make.webinar(status="scheduled", slots=(utcnow() + timedelta(days=1), utcnow() + timedelta(days=2)))
    other = make.webinar(status="scheduled", slots=(utcnow() + timedelta(days=3),))
    before = counts()
    response = visitor.register(w.slug, slot_id=str(other.slots[0].slot_id))
    assert response.status_code == 422 and counts() == before


def test_missing_slot_choice_with_several_slots(app, make, visitor, counts):
    w = make.webinar(status="scheduled", slots=(utcnow() + timedelta(days=1), utcnow() + timedelta(days=2)))
    before = counts()
    response = visitor.register(w.slug, slot_id="")
    assert response.status_code == 422 and "Please choose a time" in _errors(response)
    assert counts() == before


def test_slot_on_a_webinar_without_slots(app, webinar, visitor, counts):
    before = counts()
    response = visitor.register(webinar.slug, slot_id="1")
    assert response.status_code == 422 and counts() == before


def test_chosen_slot_is_stored(app, make, visitor):
    w = make.webinar(status="scheduled", slots=(utcnow() + timedelta(days=1), utcnow() + timedelta(days=2)))
    second = w.slots[1]
    assert visitor.register(w.slug, slot_id=str(second.slot_id)).status_code == 303
    from portal.extensions import db
    from portal.registration.models import Registration

    assert db.session.query(Registration).one().slot_id == second.slot_id


@pytest.mark.parametrize("token", [None, "", "forged-token"])
def test_missing_or_wrong_csrf_is_400(app, webinar, visitor, counts, token):
    visitor.open(f"/w/{webinar.slug}")
    before = counts()
    data = {"name": "Ann", "email": "ann@example.com", "slot_id": ""}
    if token is not None:
        data["csrf_token"] = token
    response = visitor.client.post(f"/w/{webinar.slug}/register", data=data)
    assert response.status_code == 400
    assert "Reload the page" in _errors(response)
    assert counts() == before


@pytest.mark.parametrize("status", ["finished", "archived"])
def test_closed_registration(app, make, visitor, counts, status):
    w = make.webinar(status="scheduled")
    visitor.open(f"/w/{w.slug}")
    make.bring_to(w, status)
    before = counts()
    response = visitor.register(w.slug, open_first=False)
    assert response.status_code == 409 and "Registration closed" in _errors(response)
    assert counts() == before


def test_draft_post_is_404(app, make, visitor, counts):
    w = make.webinar(status="draft")
    published = make.webinar(status="scheduled")
    visitor.open(f"/w/{published.slug}")  # a valid CSRF token from some other page
    before = counts()
    assert visitor.register(w.slug, open_first=False).status_code == 404
    assert counts() == before


@pytest.fixture
def strict_limit(app_config):
    """Two registrations per IP an hour (requested before `app` so it is created with it)."""
    app_config.update(REGISTRATION_RATE_LIMIT=2, REGISTRATION_RATE_WINDOW=3600)


def test_rate_limit_per_ip(strict_limit, make, browser_factory, counts):
    w = make.webinar(status="scheduled")
    visitor = browser_factory()
    assert visitor.register(w.slug, email="a@example.com").status_code == 303
    assert visitor.register(w.slug, email="b@example.com").status_code == 303
    before = counts()
    response = visitor.register(w.slug, email="c@example.com")
    html = _errors(response)
    assert response.status_code == 429
    assert "Too many registrations" in html and 'data-testid="register-form"' in html
    assert int(response.headers["Retry-After"]) > 0
    assert counts() == before
    # another address is not affected
    other = browser_factory()
    other.open(f"/w/{w.slug}")
    response = other.client.post(f"/w/{w.slug}/register", environ_base={"REMOTE_ADDR": "10.1.2.3"},
                                 data={"name": "D", "email": "d@example.com", "slot_id": "", "csrf_token": other.token})
    assert response.status_code == 303
