"""The speaker console: who may open it, its buttons through Core, moderation effects."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.attendance import ledger as attendance
from portal.attendance import presence
from portal.attendance.models import Attendance
from portal.core.models import OutboxEvent
from portal.extensions import db
from portal.registration.models import Registration
from portal.room.channels import console_channel, room_channel
from portal.room.models import ChatMessage
from tests.conftest import Auth, FreshGClient, csrf_token_from
from tests.console.conftest import register


@pytest.fixture
def cast(make):
    """A webinar with its speaker, owner and admin, plus outsiders."""
    owner = make.user(role="organizer")
    speaker = make.user(role="speaker")
    return {
        "owner": owner,
        "speaker": speaker,
        "admin": make.user(role="admin"),
        "other_speaker": make.user(role="speaker"),
        "other_organizer": make.user(role="organizer"),
        "webinar": make.webinar(owner=owner, speakers=(speaker,), status="scheduled"),
    }


def new_client(app):
    app.test_client_class = FreshGClient
    return app.test_client()


def logged_in(app, user) -> tuple:
    client = new_client(app)
    auth = Auth(client)
    assert auth.login(user.email).status_code == 302
    return client, auth


def hx(client, path: str, url: str):
    token = csrf_token_from(client.get(path).get_data(as_text=True))
    return client.post(url, headers={"X-CSRFToken": token, "HX-Request": "true"})


def events(webinar_id: int, name: str) -> list[OutboxEvent]:
    return list(db.session.scalars(select(OutboxEvent).where(
        OutboxEvent.webinar_id == webinar_id, OutboxEvent.event == name).order_by(OutboxEvent.id)))


@pytest.mark.parametrize("who", ["speaker", "owner", "admin"])
def test_staff_of_the_webinar_open_the_console(app, cast, who):
    client, _ = logged_in(app, cast[who])
    page = client.get(f"/console/{cast['webinar'].webinar_id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for testid in ("console-start", "console-cta-show", "console-attendee-count"):
        assert f'data-testid="{testid}"' in html
    assert 'ws-connect="/ws/console/' in html


@pytest.mark.parametrize("who", ["other_speaker", "other_organizer"])
def test_other_staff_are_refused(app, cast, who):
    client, _ = logged_in(app, cast[who])
    w = cast["webinar"]
    assert client.get(f"/console/{w.webinar_id}").status_code == 403
    response = hx(client, "/", f"/console/{w.webinar_id}/start")
    assert response.status_code == 403
    assert response.headers["HX-Retarget"] == "#flash"
    db.session.refresh(w)
    assert w.status == "scheduled"


def test_anonymous_and_attendees_are_sent_to_login(client, cast):
    w = cast["webinar"]
    response = client.get(f"/console/{w.webinar_id}")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    a = register(w)
    assert client.get(a.url).status_code == 200  # an attendee session...
    response = client.get(f"/console/{w.webinar_id}")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert client.post(f"/console/{w.webinar_id}/start").status_code in (302, 400)
    db.session.refresh(w)
    assert w.status == "scheduled"


def test_unknown_webinar_is_404(app, cast):
    client, _ = logged_in(app, cast["admin"])
    assert client.get("/console/999999").status_code == 404


def test_start_cta_and_stop_through_core_with_the_speaker_as_actor(app, cast, pushes):
    client, _ = logged_in(app, cast["speaker"])
    w = cast["webinar"]
    path = f"/console/{w.webinar_id}"
    started = hx(client, path, f"{path}/start")
    assert started.status_code == 200 and 'data-testid="console-stop"' in started.get_data(as_text=True)
    change = events(w.webinar_id, "webinar_status_changed")[-1]
    assert change.data["to"] == "live" and change.data["actor"]["user_id"] == cast["speaker"].user_id
    assert any('data-status="live"' in h for h in pushes.to(room_channel(w.webinar_id)))
    assert any('id="console-controls"' in h for h in pushes.to(console_channel(w.webinar_id)))
    # A double click is a harmless no-op.
    assert hx(client, path, f"{path}/start").status_code == 200
    assert len([e for e in events(w.webinar_id, "webinar_status_changed") if e.data["to"] == "live"]) == 1

    shown = hx(client, path, f"{path}/cta/show")
    assert 'data-testid="console-cta-hide"' in shown.get_data(as_text=True)
    assert any('data-testid="cta"' in h for h in pushes.to(room_channel(w.webinar_id)))
    hx(client, path, f"{path}/cta/hide")
    assert [e.data["to"] for e in events(w.webinar_id, "webinar_cta_visibility_changed")] == ["visible", "hidden"]

    stopped = hx(client, path, f"{path}/stop")
    assert stopped.status_code == 200
    db.session.refresh(w)
    assert w.status == "finished"
    assert len(events(w.webinar_id, "webinar_completed")) == 1


def test_refusals_show_the_reason(app, cast, make):
    client, _ = logged_in(app, cast["owner"])
    w = cast["webinar"]
    path = f"/console/{w.webinar_id}"
    refused = hx(client, path, f"{path}/stop")  # a scheduled webinar cannot be stopped
    assert refused.status_code == 409
    assert "Cannot stop a webinar that is scheduled" in refused.get_data(as_text=True)
    assert refused.headers["HX-Retarget"] == "#flash"
    bare = make.webinar(owner=cast["owner"], status="live", cta_url="", cta_text="")
    refused = hx(client, path, f"/console/{bare.webinar_id}/cta/show")
    assert refused.status_code == 409 and "call-to-action" in refused.get_data(as_text=True)


def test_stop_button_asks_for_confirmation(app, cast):
    client, _ = logged_in(app, cast["speaker"])
    w = cast["webinar"]
    hx(client, f"/console/{w.webinar_id}", f"/console/{w.webinar_id}/start")
    html = client.get(f"/console/{w.webinar_id}").get_data(as_text=True)
    assert "data-confirm=" in html.split('data-testid="console-stop"')[0].rsplit("<form", 1)[1]


def _post_message(client, attendee, body):
    token = csrf_token_from(client.get(attendee.url).get_data(as_text=True))
    r = client.post(f"{attendee.url}/chat", data={"body": body}, headers={"X-CSRFToken": token, "HX-Request": "true"})
    assert r.status_code == 200
    return db.session.scalars(select(ChatMessage).order_by(ChatMessage.message_id.desc())).first()


def test_hide_a_message_for_everyone(app, cast, pushes):
    w = cast["webinar"]
    speaker_client, _ = logged_in(app, cast["speaker"])
    hx(speaker_client, f"/console/{w.webinar_id}", f"/console/{w.webinar_id}/start")
    attendee_client = new_client(app)
    a = register(w)
    message = _post_message(attendee_client, a, "spam spam spam")
    pushes.clear()
    response = hx(speaker_client, f"/console/{w.webinar_id}",
                  f"/console/{w.webinar_id}/messages/{message.message_id}/hide")
    assert response.status_code == 200
    db.session.refresh(message)
    assert message.moderation_status == "hidden"
    [room_push] = pushes.to(room_channel(w.webinar_id))
    assert f'id="msg-{message.message_id}"' in room_push and "data-removed" in room_push
    assert "spam spam" not in room_push
    assert "spam spam spam" not in attendee_client.get(a.url).get_data(as_text=True)
    console = speaker_client.get(f"/console/{w.webinar_id}").get_data(as_text=True)
    assert "spam spam spam" in console and "mod-hidden" in console


def test_mute_makes_new_messages_shadowed(app, cast):
    w = cast["webinar"]
    speaker_client, _ = logged_in(app, cast["speaker"])
    path = f"/console/{w.webinar_id}"
    hx(speaker_client, path, f"{path}/start")
    attendee_client = new_client(app)
    a = register(w)
    before = _post_message(attendee_client, a, "first")
    assert hx(speaker_client, path, f"{path}/leads/{a.reg.lead_id}/mute").status_code == 200
    after = _post_message(attendee_client, a, "second")
    assert (before.moderation_status, after.moderation_status) == ("visible", "shadowed")
    hx(speaker_client, path, f"{path}/leads/{a.reg.lead_id}/unmute")
    assert _post_message(attendee_client, a, "third").moderation_status == "visible"


def test_ban_kills_the_link_closes_attendance_and_the_socket(app, cast, monkeypatch):
    from portal import realtime

    closed = []
    monkeypatch.setattr(realtime, "disconnect",
                        lambda channel, *, member, reason: closed.append((channel, member, reason)))
    w = cast["webinar"]
    speaker_client, _ = logged_in(app, cast["speaker"])
    path = f"/console/{w.webinar_id}"
    hx(speaker_client, path, f"{path}/start")
    a = register(w)
    presence.connected(a.reg, connection_id="tab")
    assert attendance.present_count(w.webinar_id) == 1
    assert hx(speaker_client, path, f"{path}/leads/{a.reg.lead_id}/ban").status_code == 200
    assert closed == [(room_channel(w.webinar_id), a.reg.lead_id, "banned")]
    assert new_client(app).get(a.url).status_code == 404
    row = db.session.scalar(select(Attendance).where(Attendance.lead_id == a.reg.lead_id))
    assert row.leave_reason == "banned" and row.left_at is not None
    assert [e.data for e in events(w.webinar_id, "client_webinar_left")] == [{"leave_reason": "banned"}]
    # The realtime layer then reports the closed socket: nothing more happens.
    presence.disconnected(a.reg, connection_id="tab", reason="banned")
    assert len(events(w.webinar_id, "client_webinar_left")) == 1


def test_outsiders_cannot_moderate(app, cast):
    w = cast["webinar"]
    speaker_client, _ = logged_in(app, cast["speaker"])
    hx(speaker_client, f"/console/{w.webinar_id}", f"/console/{w.webinar_id}/start")
    a = register(w)
    message = _post_message(new_client(app), a, "hello")
    outsider, _ = logged_in(app, cast["other_speaker"])
    for url in (f"/console/{w.webinar_id}/messages/{message.message_id}/hide",
                f"/console/{w.webinar_id}/leads/{a.reg.lead_id}/ban",
                f"/console/{w.webinar_id}/leads/{a.reg.lead_id}/mute"):
        assert hx(outsider, "/", url).status_code == 403
    db.session.refresh(message)
    reg = db.session.get(Registration, a.reg.registration_id)
    db.session.refresh(reg)
    assert message.moderation_status == "visible" and reg.banned_at is None and reg.chat_muted_at is None


def test_host_can_write_in_the_chat(app, cast, pushes):
    w = cast["webinar"]
    client, _ = logged_in(app, cast["speaker"])
    path = f"/console/{w.webinar_id}"
    hx(client, path, f"{path}/start")
    token = csrf_token_from(client.get(path).get_data(as_text=True))
    r = client.post(f"{path}/chat", data={"body": "Welcome, everyone!"},
                    headers={"X-CSRFToken": token, "HX-Request": "true"})
    assert r.status_code == 200
    assert any("Welcome, everyone!" in h and "is-host" in h for h in pushes.to(room_channel(w.webinar_id)))
