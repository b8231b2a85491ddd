"""Issue 12 point 2: unban and un-hide from the console (stored, pushed, audited like the other
moderator actions); the attendee list searched and paged beyond its first 100; banned leads listed."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from portal.attendance import presence
from portal.audit import AuditEntry
from portal.extensions import db
from portal.registration.models import Registration
from portal.room import chat
from portal.room.channels import console_channel, room_channel
from portal.room.models import ChatMessage
from tests.console.conftest import register
from tests.console.test_console import hx, logged_in


@pytest.fixture
def live(make):
    owner = make.user(role="organizer")
    speaker = make.user(role="speaker")
    return make.webinar(owner=owner, speakers=(speaker,), status="live"), speaker


def audit_rows(webinar_id: int) -> list[tuple[str, int | None]]:
    db.session.expire_all()
    return [(r.action, r.lead_id) for r in db.session.scalars(
        select(AuditEntry).where(AuditEntry.webinar_id == webinar_id, AuditEntry.kind == "moderation")
        .order_by(AuditEntry.audit_id))]


def test_unban_from_the_console_makes_the_old_link_work_again(app, live, pushes):
    webinar, speaker = live
    w = webinar.webinar_id
    a = register(webinar, name="Noisy Neighbour")
    bystander = register(webinar)
    client, _ = logged_in(app, speaker)
    path = f"/console/{w}"

    assert hx(client, path, f"{path}/leads/{a.reg.lead_id}/ban").status_code == 200
    assert client.get(a.url).status_code == 404  # the ban holds
    banned_page = client.get(path).get_data(as_text=True)
    listed = banned_page[banned_page.index('data-testid="console-banned-list"'):]
    assert "Noisy Neighbour" in listed and f"/leads/{a.reg.lead_id}/unban" in listed
    assert bystander.reg.lead.display_name not in listed

    pushes.clear()
    answer = hx(client, path, f"{path}/leads/{a.reg.lead_id}/unban")
    assert answer.status_code == 200 and 'data-testid="console-banned-list"' not in answer.get_data(as_text=True)
    db.session.expire_all()
    assert [r.banned_at for r in db.session.scalars(
        select(Registration).where(Registration.lead_id == a.reg.lead_id))] == [None]
    assert client.get(a.url).status_code == 200  # the same link as before the ban
    # The other consoles' attendee lists lose the banned entry; no room socket is closed.
    console = pushes.to(console_channel(w))
    assert console and 'id="console-attendees"' in console[-1] and "console-banned-list" not in console[-1]
    # Recorded like the other moderator actions, once: a second unban changes nothing.
    assert hx(client, path, f"{path}/leads/{a.reg.lead_id}/unban").status_code == 200
    assert audit_rows(w) == [("ban", a.reg.lead_id), ("unban", a.reg.lead_id)]
    assert [e.actor_user_id for e in db.session.scalars(select(AuditEntry).where(AuditEntry.webinar_id == w))
            if e.kind == "moderation"] == [speaker.user_id, speaker.user_id]


def test_unban_of_someone_not_registered_is_refused(app, live):
    webinar, speaker = live
    client, _ = logged_in(app, speaker)
    path = f"/console/{webinar.webinar_id}"
    refused = hx(client, path, f"{path}/leads/999999/unban")
    assert refused.status_code == 404 and "not registered" in refused.get_data(as_text=True)
    assert audit_rows(webinar.webinar_id) == []


def test_unhide_shows_the_message_again_everywhere(app, live, pushes):
    webinar, speaker = live
    w = webinar.webinar_id
    a = register(webinar)
    with app.test_request_context():
        message = chat.post(a.reg, "worth reading after all")
    client, _ = logged_in(app, speaker)
    path = f"/console/{w}"
    hx(client, path, f"{path}/messages/{message.message_id}/hide")
    hidden = client.get(path).get_data(as_text=True)
    assert f'/messages/{message.message_id}/unhide' in hidden and 'data-testid="console-unhide"' in hidden

    pushes.clear()
    answer = hx(client, path, f"{path}/messages/{message.message_id}/unhide").get_data(as_text=True)
    assert 'data-status="visible"' in answer and 'data-testid="console-hide"' in answer
    db.session.expire_all()
    assert db.session.get(ChatMessage, message.message_id).moderation_status == "visible"
    room = pushes.to(room_channel(w))
    assert len(room) == 1 and f'id="msg-{message.message_id}"' in room[0] and "worth reading after all" in room[0]
    assert "data-removed" not in room[0]
    assert any(f'id="msg-{message.message_id}"' in h and 'data-status="visible"' in h
               for h in pushes.to(console_channel(w)))
    # The room's own page shows it again.
    assert "worth reading after all" in client.get(a.url).get_data(as_text=True)
    # Idempotent: a second click neither pushes nor records anything.
    pushes.clear()
    hx(client, path, f"{path}/messages/{message.message_id}/unhide")
    assert pushes.to(room_channel(w)) == []
    assert audit_rows(w) == [("hide", None), ("unhide", None)]


def test_unhide_of_another_webinars_message_is_refused(app, live, make):
    webinar, speaker = live
    other = make.webinar(status="live")
    a = register(other)
    with app.test_request_context():
        message = chat.post(a.reg, "elsewhere")
    client, _ = logged_in(app, speaker)
    path = f"/console/{webinar.webinar_id}"
    assert hx(client, path, f"{path}/messages/{message.message_id}/unhide").status_code == 404


def _names(html: str) -> list[str]:
    return re.findall(r'<span class="attendee-name">([^<]+?)\s*<', html)


def test_the_attendee_list_pages_and_searches_beyond_the_first_hundred(app, live):
    webinar, speaker = live
    w = webinar.webinar_id
    people = [register(webinar, name=f"Guest {n:03d}") for n in range(1, 121)]
    for p in people:
        presence.connected(p.reg, connection_id=f"c{p.reg.lead_id}")
    presence.connected(people[0].reg, connection_id="second-tab")
    client, _ = logged_in(app, speaker)
    path = f"/console/{w}"

    first = client.get(path).get_data(as_text=True)
    assert 'data-count="120"' in first
    assert _names(first) == [f"Guest {n:03d}" for n in range(1, 51)]
    assert "Page 1 of 3" in first and 'data-testid="console-attendees-next"' in first

    third = client.get(f"{path}/attendees?page=3", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert _names(third) == [f"Guest {n:03d}" for n in range(101, 121)]
    assert "data-filtered" in third and f'data-refresh-url="/console/{w}/attendees?page=3"' in third
    assert 'data-testid="console-attendees-next"' not in third

    # Search by name or email reaches people past the first hundred.
    found = client.get(f"{path}/attendees?q=guest+11", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert _names(found) == [f"Guest {n:03d}" for n in range(110, 120)]
    assert "10 people match" in found
    email = people[116].reg.lead.email
    by_email = client.get(f"{path}/attendees", query_string={"q": email.upper()},
                          headers={"HX-Request": "true"}).get_data(as_text=True)
    assert _names(by_email) == ["Guest 117"]
    # % and _ are letters, not patterns; nothing found says so.
    none = client.get(f"{path}/attendees?q=%25", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert _names(none) == [] and "Nobody in the room matches" in none
    # Without htmx: the console page itself with the same view.
    plain = client.get(f"{path}/attendees?q=guest+11")
    assert plain.status_code == 303 and plain.headers["Location"].endswith(f"/console/{w}?q=guest+11")
    assert _names(client.get(plain.headers["Location"]).get_data(as_text=True))[0] == "Guest 110"
    # Nonsense pages land on the nearest real one.
    htmx = {"HX-Request": "true"}
    assert "Page 3 of 3" in client.get(f"{path}/attendees?page=99", headers=htmx).get_data(as_text=True)
    assert "Page 1 of 3" in client.get(f"{path}/attendees?page=x", headers=htmx).get_data(as_text=True)


def test_other_staff_cannot_read_the_attendee_list(app, live, make):
    webinar, _ = live
    client, _ = logged_in(app, make.user(role="speaker"))
    assert client.get(f"/console/{webinar.webinar_id}/attendees", headers={"HX-Request": "true"}).status_code == 403
