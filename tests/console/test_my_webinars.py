"""Issue 12 point 1: "My webinars" at /console/, where login lands a speaker; the top bar shows
only what the user's role may open."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest

from portal.db_types import utcnow
from tests.console.test_console import logged_in, new_client
from tests.factories import PASSWORD


@pytest.fixture
def people(make):
    owner = make.user(role="organizer")
    speaker = make.user(role="speaker")
    soon = utcnow() + timedelta(days=2)
    return {
        "owner": owner,
        "speaker": speaker,
        "admin": make.user(role="admin"),
        "spoken": make.webinar(owner=owner, speakers=(speaker,), status="scheduled", title="Spoken at",
                               scheduled_at=utcnow() - timedelta(hours=3), slots=(soon,)),
        "live": make.webinar(owner=owner, speakers=(speaker,), status="live", title="Running now"),
        "not_theirs": make.webinar(owner=owner, status="scheduled", title="Not theirs"),
        "archived": make.webinar(owner=owner, speakers=(speaker,), status="archived", title="Long gone"),
        "other_owner": make.webinar(status="scheduled", title="Other owner"),
        "soon": soon,
    }


def _login(app, user):
    client = new_client(app)
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    token = token or re.search(r'name="csrf_token" value="([^"]+)"', page)
    return client, client.post("/login", data={"email": user.email, "password": PASSWORD,
                                               "csrf_token": token.group(1)})


def _titles(html: str) -> list[str]:
    return re.findall(r'data-testid="my-webinar-title">([^<]+)<', html)


def test_login_lands_a_speaker_on_my_webinars_and_organizers_on_the_dashboard(app, people):
    _, landed = _login(app, people["speaker"])
    assert landed.status_code == 302 and landed.headers["Location"] == "/console/"
    for who in ("owner", "admin"):
        _, landed = _login(app, people[who])
        assert landed.headers["Location"] == "/admin/", who


def test_a_next_page_still_wins_over_the_landing(app, people):
    client = new_client(app)
    page = client.get("/login?next=/console/1").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    landed = client.post("/login?next=/console/1", data={"email": people["speaker"].email, "password": PASSWORD,
                                                         "csrf_token": token})
    assert landed.headers["Location"] == "/console/1"


def test_a_speaker_sees_the_webinars_they_speak_at(app, people):
    client, _ = logged_in(app, people["speaker"])
    response = client.get("/console/")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and 'data-testid="my-webinars"' in html
    assert response.headers["Cache-Control"] == "no-store"
    # Live first, then the coming one; archived and other people's webinars are not listed.
    assert _titles(html) == ["Running now", "Spoken at"]
    for key in ("spoken", "live"):
        assert f'href="/console/{people[key].webinar_id}"' in html
    # The next start is the extra time still ahead (the main time is past), for the local-time script.
    assert f'datetime="{people["soon"].isoformat().replace("+00:00", "Z")}"' in html
    # The top bar offers what a speaker may open, not the organizer's dashboard (which answers 403).
    assert 'data-testid="nav-my-webinars"' in html and 'data-testid="nav-dashboard"' not in html
    assert client.get("/admin/").status_code == 403


def test_organizers_and_admins_reach_every_console_they_may_open(app, people):
    client, _ = logged_in(app, people["owner"])
    html = client.get("/console/").get_data(as_text=True)
    assert set(_titles(html)) == {"Running now", "Spoken at", "Not theirs"}
    assert 'data-testid="nav-dashboard"' in html and 'data-testid="nav-my-webinars"' in html
    assert "your webinar" in html
    for webinar_id in re.findall(r'<li class="dash-item my-webinar" data-webinar-id="(\d+)"', html):
        assert client.get(f"/console/{webinar_id}").status_code == 200

    client, _ = logged_in(app, people["admin"])
    html = client.get("/console/").get_data(as_text=True)
    assert {"Running now", "Spoken at", "Not theirs", "Other owner"} <= set(_titles(html))
    assert "Long gone" not in _titles(html)


def test_signed_out_visitors_are_sent_to_login_and_see_no_staff_links(app, people):
    client = new_client(app)
    response = client.get("/console/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    html = client.get("/").get_data(as_text=True)
    assert "nav-my-webinars" not in html and "nav-dashboard" not in html
