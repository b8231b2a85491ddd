"""Issue 9, point 6 (registration side): a ban holds for every start time of the webinar, and a
repeated submit from the browser that registered shows its link even when that browser never
got the cookie (a double click, an answer lost on the way)."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest

from portal.db_types import utcnow
from portal.extensions import db
from portal.registration import remember, service, tokens
from portal.registration.models import Registration
from portal.room import moderation
from tests.registration.conftest import registered_events

LINK = re.compile(r'href="http://localhost/room/([A-Za-z0-9_\-]+)"[^>]*data-testid="join-link"')


@pytest.fixture
def two_slots(make):
    start = utcnow() + timedelta(days=2)
    return make.webinar(status="scheduled", slots=(start, start + timedelta(days=1)))


def _link(html: str) -> str | None:
    match = LINK.search(html)
    return match.group(1) if match else None


def test_a_banned_lead_cannot_come_back_through_another_start_time(app, make, two_slots, visitor, counts):
    s1, s2 = two_slots.slots
    first = service.register(two_slots, name="Troll", email="troll@example.com", slot=s1)
    moderation.ban(two_slots, first.registration.lead_id, actor=two_slots.owner)
    before = counts()
    events_before = len(registered_events())
    # through the service ...
    again = service.register(two_slots, name="Troll", email="troll@example.com", slot=s2)
    assert (again.created, again.token) == (False, None)
    # ... and through the page, from a fresh browser: the "already registered" page, no link
    response = visitor.register(two_slots.slug, name="Troll", email="TROLL@example.com", slot_id=str(s2.slot_id))
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "already registered" in html and "/room/" not in html
    assert "banned" not in html.lower()  # a stranger typing the address learns nothing about a ban
    assert counts() == before and len(registered_events()) == events_before
    assert db.session.query(Registration).filter_by(lead_id=first.registration.lead_id).count() == 1


def test_an_unbanned_lead_may_take_another_start_time(app, two_slots):
    s1, s2 = two_slots.slots
    service.register(two_slots, name="Ann", email="ann@example.com", slot=s1)
    assert service.register(two_slots, name="Ann", email="ann@example.com", slot=s2).created


def test_a_repeat_from_the_same_browser_without_its_cookie_shows_the_link(app, make, visitor, browser_factory):
    """The first answer (with the cookie) was lost: the browser only has its browser id."""
    webinar = make.webinar(status="scheduled")
    first = visitor.register(webinar.slug, email="ann@example.com")
    assert first.status_code == 303
    token = _link(visitor.client.get(first.headers["Location"]).get_data(as_text=True))
    visitor.client.delete_cookie(remember.cookie_name(webinar.webinar_id), path=remember.COOKIE_PATH)
    again = visitor.register(webinar.slug, name="Ann", email="ann@example.com")
    assert again.status_code == 303  # not "already registered"
    assert _link(visitor.client.get(again.headers["Location"]).get_data(as_text=True)) == token
    assert tokens.find_registration(token) is not None
    assert len(registered_events()) == 1
    # another browser typing the same email still sees no link
    other = browser_factory().register(webinar.slug, email="ann@example.com")
    assert other.status_code == 200 and "already registered" in other.get_data(as_text=True)
    assert token not in other.get_data(as_text=True)


def test_a_double_click_before_any_cookie_shows_the_link_both_times(app, make, visitor):
    """Both submits leave the browser before the first answer sets a cookie: only the browser
    id (set by the page) is sent with each."""
    webinar = make.webinar(status="scheduled")
    visitor.open(f"/w/{webinar.slug}")
    assert visitor.client.get_cookie(remember.BROWSER_COOKIE, path=remember.COOKIE_PATH) is not None
    data = {"name": "Ann", "email": "ann@example.com", "slot_id": "", "csrf_token": visitor.token}
    one = visitor.client.post(f"/w/{webinar.slug}/register", data=data)
    visitor.client.delete_cookie(remember.cookie_name(webinar.webinar_id), path=remember.COOKIE_PATH)
    two = visitor.client.post(f"/w/{webinar.slug}/register", data=data)
    assert one.status_code == two.status_code == 303
    cookies = [c for c in two.headers.getlist("Set-Cookie") if c.startswith(remember.COOKIE_PREFIX)]
    assert cookies, "the second answer gives the browser its link back"
    assert len(registered_events()) == 1


def test_the_browser_cookie_is_http_only_and_scoped(app, make, visitor):
    webinar = make.webinar(status="scheduled")
    response = visitor.open(f"/w/{webinar.slug}")
    [cookie] = [c for c in response.headers.getlist("Set-Cookie") if c.startswith(remember.BROWSER_COOKIE + "=")]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/w/" in cookie
    # once set, it is kept (not rotated per page)
    assert not any(c.startswith(remember.BROWSER_COOKIE + "=")
                   for c in visitor.open(f"/w/{webinar.slug}").headers.getlist("Set-Cookie"))


def test_a_forged_browser_id_derives_nothing(app, make, visitor, browser_factory):
    webinar = make.webinar(status="scheduled")
    visitor.register(webinar.slug, email="ann@example.com")
    thief = browser_factory()
    thief.client.set_cookie(remember.BROWSER_COOKIE, "x" * 24, path=remember.COOKIE_PATH)
    response = thief.register(webinar.slug, email="ann@example.com")
    assert response.status_code == 200 and "already registered" in response.get_data(as_text=True)
