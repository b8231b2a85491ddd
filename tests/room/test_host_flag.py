"""Issue 9, point 2: no registration borrows a staff account; "host" comes only from the console.

The attack: register with the speaker's email, open the join link, post as "Sam Speaker" in
the host style, with no mute offered in the console.
"""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from portal.core.models import OutboxEvent, User
from portal.extensions import db
from portal.registration import service
from portal.registration.models import Registration
from portal.registration.tokens import new_token
from portal.room import chat
from portal.room.models import ChatMessage
from tests.conftest import Auth, FreshGClient, csrf_token_from
from tests.room.conftest import register


@pytest.fixture
def cast(make):
    owner = make.user(role="organizer")
    speaker = make.user(role="speaker", email="sam@example.com", display_name="Sam Speaker")
    return {"owner": owner, "speaker": speaker,
            "webinar": make.webinar(owner=owner, speakers=(speaker,), status="live")}


def _client(app):
    app.test_client_class = FreshGClient
    return app.test_client()


def _staff_client(app, user):
    client = _client(app)
    assert Auth(client).login(user.email).status_code == 302
    return client


def _counts() -> tuple[int, int, int]:
    db.session.expire_all()
    return (db.session.scalar(select(func.count()).select_from(Registration)),
            db.session.scalar(select(func.count()).select_from(User)),
            db.session.scalar(select(func.count()).select_from(OutboxEvent)))


def _borrowed_registration(webinar, staff_user) -> tuple[Registration, str]:
    """A registration made before the fix: its lead IS the staff account."""
    token, token_hash = new_token()
    reg = Registration(webinar_id=webinar.webinar_id, lead_id=staff_user.user_id, webinar_type=webinar.type,
                       join_token_hash=token_hash)
    db.session.add(reg)
    db.session.commit()
    return reg, token


def test_registering_with_a_staff_email_is_refused_over_http(app, cast):
    webinar = cast["webinar"]
    before = _counts()
    client = _client(app)
    page = client.get(f"/w/{webinar.slug}").get_data(as_text=True)
    response = client.post(f"/w/{webinar.slug}/register", data={
        "name": "Totally Sam", "email": " SAM@example.com ", "csrf_token": csrf_token_from(page)})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "belongs to a team account" in html and "register with another address" in html
    assert "/room/" not in html
    assert _counts() == before  # nothing stored, no event


def test_the_service_refuses_every_staff_role(make):
    webinar = make.webinar(status="scheduled")
    for role in ("speaker", "organizer", "admin"):
        user = make.user(role=role)
        with pytest.raises(Exception) as refused:
            service.register(webinar, name="x", email=user.email)
        assert refused.value.details == {"field": "email"}
        assert "team account" in refused.value.message
    assert db.session.scalar(select(func.count()).select_from(Registration)) == 0


def test_the_attack_posts_nothing_in_the_hosts_name(app, cast):
    """Even a registration that already points at the staff account cannot post through it."""
    webinar = cast["webinar"]
    reg, token = _borrowed_registration(webinar, cast["speaker"])
    client = _client(app)
    page = client.get(f"/room/{token}").get_data(as_text=True)
    response = client.post(f"/room/{token}/chat", data={"body": "I am the host"},
                           headers={"X-CSRFToken": csrf_token_from(page), "HX-Request": "true"})
    assert response.status_code == 403
    assert "speaker console" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(ChatMessage)) == 0


def test_an_existing_staff_authored_attendee_message_is_not_host_and_can_be_muted(app, cast):
    webinar = cast["webinar"]
    reg, token = _borrowed_registration(webinar, cast["speaker"])
    # Stored before the fix through the join link (the migration marks old rows "not as host").
    old = ChatMessage(webinar_id=webinar.webinar_id, author_id=cast["speaker"].user_id,
                      message_body="posted through a join link")
    db.session.add(old)
    db.session.commit()
    hosted = chat.post_as_staff(cast["speaker"], webinar, "welcome from the console")
    assert (old.posted_as_host, hosted.posted_as_host) == (False, True)
    assert not chat.is_staff_author(old) and chat.is_staff_author(hosted)

    attendee = register(webinar)
    room = _client(app).get(attendee.url).get_data(as_text=True)
    old_item = room.split(f'id="msg-{old.message_id}"', 1)[1].split("</li>", 1)[0]
    host_item = room.split(f'id="msg-{hosted.message_id}"', 1)[1].split("</li>", 1)[0]
    assert "is-host" not in old_item.split(">", 1)[0] and "is-host" in host_item.split(">", 1)[0]

    owner = _staff_client(app, cast["owner"])
    console = owner.get(f"/console/{webinar.webinar_id}").get_data(as_text=True)
    old_console = console.split(f'id="msg-{old.message_id}"', 1)[1].split("</li>", 1)[0]
    host_console = console.split(f'id="msg-{hosted.message_id}"', 1)[1].split("</li>", 1)[0]
    assert "is-host" not in old_console.split(">", 1)[0] and 'data-testid="console-mute"' in old_console
    assert 'data-testid="console-ban"' in old_console
    assert 'data-testid="console-mute"' not in host_console and "is-host" in host_console.split(">", 1)[0]

    mute = f"/console/{webinar.webinar_id}/leads/{cast['speaker'].user_id}/mute"
    response = owner.post(mute, headers={"X-CSRFToken": csrf_token_from(console), "HX-Request": "true"})
    assert response.status_code == 200
    db.session.expire_all()
    assert db.session.get(Registration, reg.registration_id).chat_muted_at is not None
