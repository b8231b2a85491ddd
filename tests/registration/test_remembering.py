"""Duplicates and the browser that registered: the join link is shown only to that browser."""
from __future__ import annotations

import re

import pytest

from portal.registration import remember, tokens
from tests.registration.conftest import registered_events

LINK = re.compile(r'href="(http://localhost/room/([A-Za-z0-9_\-]+))"[^>]*data-testid="join-link"')


@pytest.fixture
def webinar(make):
    return make.webinar(status="scheduled")


def _link(html: str) -> tuple[str, str] | None:
    match = LINK.search(html)
    return (match.group(1), match.group(2)) if match else None


def test_register_redirects_to_the_confirmation_with_the_link(app, webinar, visitor):
    response = visitor.register(webinar.slug, email="ann@example.com")
    assert response.status_code == 303
    assert response.headers["Location"] == f"/w/{webinar.slug}/registered"  # no token in the URL
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith(f"{remember.cookie_name(webinar.webinar_id)}=")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/w/" in cookie and "Max-Age=" in cookie
    page = visitor.client.get(response.headers["Location"])
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "no-store" in page.headers["Cache-Control"]
    url, token = _link(html)
    assert url == f"http://localhost/room/{token}"
    assert tokens.find_registration(token).webinar_id == webinar.webinar_id
    assert "What happens next" in html and "calendar.ics" in html and "calendar.google.com" in html


def test_the_webinar_page_offers_enter_the_room_to_the_browser_that_registered(app, webinar, visitor, browser_factory):
    visitor.register(webinar.slug)
    html = visitor.open(f"/w/{webinar.slug}").get_data(as_text=True)
    assert "Enter the room" in html and _link(html) is not None
    assert "Register someone else" in html  # the form is still there, folded
    stranger = browser_factory().open(f"/w/{webinar.slug}").get_data(as_text=True)
    assert _link(stranger) is None and "Enter the room" not in stranger


def test_duplicate_from_the_same_browser_shows_its_link_again(app, webinar, visitor):
    visitor.register(webinar.slug, email="ann@example.com")
    first = _link(visitor.client.get(f"/w/{webinar.slug}/registered").get_data(as_text=True))
    response = visitor.register(webinar.slug, name="Ann again", email="ANN@example.com")
    assert response.status_code == 303
    assert not any(c.startswith(remember.COOKIE_PREFIX) for c in response.headers.getlist("Set-Cookie"))
    again = _link(visitor.client.get(response.headers["Location"]).get_data(as_text=True))
    assert again == first
    assert len(registered_events()) == 1


def test_duplicate_from_another_browser_reveals_no_link(app, webinar, visitor, browser_factory, counts):
    visitor.register(webinar.slug, email="ann@example.com")
    _, token = _link(visitor.client.get(f"/w/{webinar.slug}/registered").get_data(as_text=True))
    before = counts()
    intruder = browser_factory()
    response = intruder.register(webinar.slug, email="ann@example.com")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "already registered" in html and token not in html and "/room/" not in html
    assert not any(c.startswith(remember.COOKIE_PREFIX) for c in response.headers.getlist("Set-Cookie"))
    assert counts() == before
    # and it cannot reach the confirmation or the calendar file either
    assert intruder.client.get(f"/w/{webinar.slug}/registered").status_code == 303
    assert intruder.client.get(f"/w/{webinar.slug}/calendar.ics").status_code == 404


def test_a_forged_or_foreign_cookie_is_ignored(app, make, webinar, visitor, browser_factory):
    other = make.webinar(status="scheduled")
    visitor.register(other.slug)
    signed = visitor.client.get_cookie(remember.cookie_name(other.webinar_id), path="/w/").value
    thief = browser_factory()
    # another webinar's cookie value under this webinar's name
    thief.client.set_cookie(remember.cookie_name(webinar.webinar_id), signed, path="/w/")
    assert _link(thief.open(f"/w/{webinar.slug}").get_data(as_text=True)) is None
    thief.client.set_cookie(remember.cookie_name(webinar.webinar_id), "eyJ3IjoxfQ.forged", path="/w/")
    assert _link(thief.open(f"/w/{webinar.slug}").get_data(as_text=True)) is None


def test_a_revoked_registration_is_forgotten(app, webinar, visitor):
    from portal.db_types import utcnow
    from portal.extensions import db
    from portal.registration.models import Registration

    visitor.register(webinar.slug)
    db.session.query(Registration).one().revoked_at = utcnow()
    db.session.commit()
    html = visitor.open(f"/w/{webinar.slug}").get_data(as_text=True)
    assert _link(html) is None and 'data-testid="register-form"' in html
    assert visitor.client.get(f"/w/{webinar.slug}/registered").status_code == 303


def test_a_second_person_on_the_same_browser_gets_their_own_link(app, webinar, visitor):
    visitor.register(webinar.slug, email="ann@example.com")
    _, ann = _link(visitor.client.get(f"/w/{webinar.slug}/registered").get_data(as_text=True))
    response = visitor.register(webinar.slug, name="Bob", email="bob@example.com")
    assert response.status_code == 303
    _, bob = _link(visitor.client.get(f"/w/{webinar.slug}/registered").get_data(as_text=True))
    assert bob != ann
    assert tokens.find_registration(bob).lead.email == "bob@example.com"
    assert len(registered_events()) == 2


def test_double_submit_over_http_ends_in_one_registration(app, webinar, live_server, counts):
    """Two browsers (two sessions, two sockets) post the same email at the same moment."""
    import http.cookiejar
    import threading
    import urllib.parse
    import urllib.request

    from tests.conftest import csrf_token_from

    slug = webinar.slug

    def browser():
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        html = opener.open(f"{live_server.url}/w/{slug}").read().decode()
        return opener, csrf_token_from(html)

    browsers = [browser() for _ in range(2)]
    before = counts()
    barrier, answers = threading.Barrier(2), []

    def submit(opener, token):
        body = urllib.parse.urlencode({"name": "Twin", "email": "twin@example.com", "slot_id": "",
                                       "csrf_token": token}).encode()
        barrier.wait()
        answers.append(opener.open(f"{live_server.url}/w/{slug}/register", data=body).read().decode())

    threads = [threading.Thread(target=submit, args=b) for b in browsers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(answers) == 2
    assert sum('data-testid="join-link"' in a for a in answers) == 1  # the winner lands on its confirmation
    assert sum("already registered" in a for a in answers) == 1  # the other sees no link
    after = counts()
    assert (after["registrations"] - before["registrations"], after["events"] - before["events"]) == (1, 1)
    assert len(registered_events()) == 1
