"""Chat: bad input is refused with a clear message and stores nothing; flood, mute, ban."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from portal.core import lifecycle
from portal.core.permissions import SYSTEM
from portal.db_types import utcnow
from portal.extensions import db
from portal.room import chat
from portal.room import sockets as socket
from portal.room.channels import console_channel, room_channel
from portal.room.models import ChatMessage
from tests.conftest import csrf_token_from
from tests.room.conftest import register, room_socket


def stored() -> list[ChatMessage]:
    db.session.expire_all()
    return list(db.session.scalars(select(ChatMessage).order_by(ChatMessage.message_id)))


def say(client, attendee, body):
    token = csrf_token_from(client.get(attendee.url).get_data(as_text=True))
    return client.post(f"{attendee.url}/chat", data={"body": body},
                       headers={"X-CSRFToken": token, "HX-Request": "true"})


@pytest.fixture
def live(make):
    return make.webinar(status="live")


def test_a_message_is_stored_pushed_and_escaped(client, live, pushes):
    a, b = register(live, name="Ann"), register(live, name="Bob")
    response = say(client, a, "<script>alert(1)</script> hello <b>all</b>")
    assert response.status_code == 200
    [message] = stored()
    assert message.message_body == "<script>alert(1)</script> hello <b>all</b>"
    assert message.moderation_status == "visible"
    html = response.get_data(as_text=True)
    assert f'id="msg-{message.message_id}"' in html and "<script>alert" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    [room_push] = pushes.to(room_channel(live.webinar_id))
    assert f'data-message-id="{message.message_id}"' in room_push and 'hx-swap-oob="beforeend:#chat-list"' in room_push
    assert "<script>alert" not in room_push
    assert pushes.to(console_channel(live.webinar_id))
    page = client.get(b.url).get_data(as_text=True)
    assert "&lt;b&gt;all&lt;/b&gt;" in page and "<b>all</b>" not in page


@pytest.mark.parametrize("body,message", [
    ("", "Type a message first."),
    ("   \t  ", "Type a message first."),
    ("\u200b\u200c\u200d\u2060\ufeff", "Type a message first."),
    ("\x00\x07\x1b", "Type a message first."),
    ("x" * 5000, "Messages are limited to 1,000 characters."),
    ("y" * 1001, "Messages are limited to 1,000 characters."),
])
def test_bad_input_is_refused_and_nothing_is_stored(client, live, pushes, body, message):
    a = register(live)
    response = say(client, a, body)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert 'id="chat-feedback"' in response.get_data(as_text=True)
    assert stored() == []
    assert pushes.to(room_channel(live.webinar_id)) == []


def test_cleaning_strips_invisible_characters():
    assert chat.clean("\u200bhel\u200dlo\u2060 \u202eworld\x00 ") == "hello world"
    assert chat.clean("line one\nline two") == "line one line two"
    assert chat.clean("  ok  ") == "ok"
    assert chat.clean(None) == ""
    assert chat.clean("Привет 👋") == "Привет 👋"
    assert chat.validate("z" * 1000) == "z" * 1000


def test_a_flood_is_rate_limited_with_feedback(client, live, monkeypatch):
    import portal.ratelimit

    # One fixed window for the whole flood, so a window boundary cannot split it.
    monkeypatch.setattr(portal.ratelimit, "time", SimpleNamespace(time=lambda: 1_000_000_003.0))
    a = register(live)
    answers = [say(client, a, f"message {i}") for i in range(7)]
    assert [r.status_code for r in answers[:5]] == [200] * 5
    refused = answers[5]
    assert refused.status_code == 429
    assert "too fast" in refused.get_data(as_text=True)
    assert int(refused.headers["Retry-After"]) >= 1
    assert len(stored()) == 5
    # Another attendee is not slowed down by the flooder.
    assert say(client, register(live), "me too").status_code == 200


def test_shadow_muted_author_sees_own_messages_nobody_else_does(client, live, pushes):
    muted, other = register(live, name="Loud"), register(live, name="Quiet")
    muted.reg.chat_muted_at = utcnow()
    db.session.commit()
    response = say(client, muted, "buy my stuff")
    assert response.status_code == 200, "the author notices nothing"
    [message] = stored()
    assert message.moderation_status == "shadowed"
    assert f'id="msg-{message.message_id}"' in response.get_data(as_text=True)
    assert pushes.to(room_channel(live.webinar_id)) == []
    assert any("buy my stuff" in html for html in pushes.to(console_channel(live.webinar_id)))
    assert "buy my stuff" in client.get(muted.url).get_data(as_text=True)
    assert "buy my stuff" not in client.get(other.url).get_data(as_text=True)
    from portal.room import fragments

    assert "buy my stuff" in fragments.snapshot(muted.reg, live, since_message_id=0)
    assert "buy my stuff" not in fragments.snapshot(other.reg, live, since_message_id=0)


def test_banned_attendee_cannot_post(client, live):
    a = register(live)
    page = client.get(a.url).get_data(as_text=True)
    a.reg.banned_at = utcnow()
    db.session.commit()
    response = client.post(f"{a.url}/chat", data={"body": "hi"},
                           headers={"X-CSRFToken": csrf_token_from(page), "HX-Request": "true"})
    assert response.status_code == 404
    assert stored() == []


def test_chat_closed_after_the_end_and_external_chats_store_nothing(client, make):
    w = make.webinar(status="live")
    a = register(w)
    page = client.get(a.url).get_data(as_text=True)
    lifecycle.core_webinar_set_status(w, "stop", actor=SYSTEM)
    r = client.post(f"{a.url}/chat", data={"body": "late"},
                    headers={"X-CSRFToken": csrf_token_from(page), "HX-Request": "true"})
    assert r.status_code == 409 and "The chat is closed." in r.get_data(as_text=True)
    z = make.webinar(status="live", stream_type="zoom", stream_url="https://zoom.example/j/1")
    b = register(z)
    assert say(client, b, "hello").status_code == 403
    assert stored() == []


def test_chat_post_needs_csrf(client, live):
    a = register(live)
    assert client.post(f"{a.url}/chat", data={"body": "x"}).status_code == 400
    assert stored() == []


@pytest.fixture
def ws_request(app):
    """Socket handlers run inside the websocket's request (locale, url_for)."""
    with app.test_request_context("/ws/room/x"):
        yield


def test_socket_chat_frame(app, ws_request, live, pushes):
    a = register(live)
    ctx = room_socket(a.reg)
    socket.on_chat(ctx, {"type": "chat", "body": "over the socket"})
    [message] = stored()
    assert message.message_body == "over the socket"
    assert 'id="chat-feedback"' in ctx.sent[-1] and "is-error" not in ctx.sent[-1]
    assert pushes.to(room_channel(live.webinar_id))
    socket.on_chat(ctx, {"type": "chat", "body": "<i>" + "z" * 2000})
    assert "is-error" in ctx.sent[-1] and "1,000" in ctx.sent[-1]
    socket.on_chat(ctx, {"type": "chat", "body": {"not": "text"}})
    assert "Type a message first." in ctx.sent[-1]
    assert len(stored()) == 1


def test_socket_chat_of_a_muted_author_comes_back_to_that_socket_only(app, ws_request, live, pushes):
    a = register(live)
    a.reg.chat_muted_at = utcnow()
    db.session.commit()
    ctx = room_socket(a.reg)
    socket.on_chat(ctx, {"body": "only me"})
    assert "only me" in ctx.sent[-1]
    assert pushes.to(room_channel(live.webinar_id)) == []


def test_socket_chat_of_a_banned_author_is_refused(app, ws_request, live):
    a = register(live)
    a.reg.banned_at = utcnow()
    db.session.commit()
    ctx = room_socket(a.reg)
    socket.on_chat(ctx, {"body": "let me in"})
    assert "is-error" in ctx.sent[-1]
    assert db.session.scalar(select(func.count()).select_from(ChatMessage)) == 0
