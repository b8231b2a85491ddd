"""Issue 9, point 14: a chat post named by the page's client id is stored once, whichever way
(socket, HTTP, both, repeated) it arrives; the answer names the id so the page can clear its
input only then."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.room import chat
from portal.room import sockets as socket
from portal.room.channels import room_channel
from portal.room.models import ChatMessage
from tests.conftest import csrf_token_from
from tests.room.conftest import register, room_socket


@pytest.fixture
def live(make):
    return make.webinar(status="live")


@pytest.fixture
def ws_request(app):
    with app.test_request_context("/ws/room/x"):
        yield


def stored() -> list[ChatMessage]:
    db.session.expire_all()
    return list(db.session.scalars(select(ChatMessage).order_by(ChatMessage.message_id)))


def post_http(client, attendee, body, client_id):
    token = csrf_token_from(client.get(attendee.url).get_data(as_text=True))
    return client.post(f"{attendee.url}/chat", data={"body": body, "client_id": client_id},
                       headers={"X-CSRFToken": token, "HX-Request": "true"})


def test_the_same_client_id_is_stored_once(app, live):
    a = register(live)
    first = chat.post(a.reg, "hello", client_id="c-1")
    again = chat.post(a.reg, "hello", client_id="c-1")
    assert again.message_id == first.message_id
    assert [m.message_body for m in stored()] == ["hello"]
    other = chat.post(a.reg, "hello", client_id="c-2")  # the same words, another message
    assert other.message_id != first.message_id and len(stored()) == 2


def test_client_ids_are_per_author(app, live):
    a, b = register(live), register(live)
    chat.post(a.reg, "from a", client_id="same")
    chat.post(b.reg, "from b", client_id="same")
    assert sorted(m.message_body for m in stored()) == ["from a", "from b"]


def test_a_retry_is_not_counted_by_the_rate_limit(app, live):
    a = register(live)
    for n in range(chat.MAX_PER_WINDOW):
        chat.post(a.reg, f"m{n}", client_id=f"id-{n}")
    # the last one again (its answer was lost): still answered, nothing new stored
    assert chat.post(a.reg, "m4", client_id="id-4").message_body == "m4"
    assert len(stored()) == chat.MAX_PER_WINDOW


def test_a_concurrent_duplicate_insert_returns_the_stored_message(app, live, monkeypatch):
    """The unique index decides when both posts pass the lookup before either commits."""
    a = register(live)
    first = chat.post(a.reg, "race", client_id="r-1")
    monkeypatch.setattr(chat, "_by_client_id", _miss_once(chat._by_client_id))
    again = chat.post(a.reg, "race", client_id="r-1")
    assert again.message_id == first.message_id and len(stored()) == 1


def _miss_once(real):
    calls = {"n": 0}

    def lookup(reg, client_id):
        calls["n"] += 1
        return None if calls["n"] == 1 else real(reg, client_id)
    return lookup


@pytest.mark.parametrize("bad", ["x" * 65, "has space", "ünïcode", "<script>", 7])
def test_a_malformed_client_id_is_refused_and_stores_nothing(app, live, ws_request, bad):
    a = register(live)
    ctx = room_socket(a.reg)
    socket.on_chat(ctx, {"type": "chat", "body": "hi", "client_id": bad})
    assert "is-error" in ctx.sent[-1] and "could not be read" in ctx.sent[-1]
    assert stored() == []


def test_socket_then_http_stores_once_and_both_answers_name_the_id(app, client, live, ws_request, pushes):
    a = register(live)
    ctx = room_socket(a.reg)
    socket.on_chat(ctx, {"type": "chat", "body": "typed while the socket died", "client_id": "abc-123"})
    assert 'data-client-id="abc-123"' in ctx.sent[-1] and "is-error" not in ctx.sent[-1]
    response = post_http(client, a, "typed while the socket died", "abc-123")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and 'data-client-id="abc-123"' in html
    [message] = stored()
    assert f'id="msg-{message.message_id}"' in html  # the retry shows the stored message
    assert message.client_id == "abc-123"
    assert len(pushes.to(room_channel(live.webinar_id))) == 1  # pushed once, not per retry


def test_concurrent_http_retries_store_once(app, live, live_server):
    """Two real requests with the same client id at the same moment (two connections)."""
    import http.cookiejar
    import urllib.parse
    import urllib.request

    a = register(live)
    openers = [urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
               for _ in range(2)]
    tokens = [csrf_token_from(o.open(f"{live_server.url}{a.url}").read().decode()) for o in openers]
    barrier, answers = threading.Barrier(2), []

    def send(opener, token):
        body = urllib.parse.urlencode({"body": "once", "client_id": "dup-1"}).encode()
        request = urllib.request.Request(f"{live_server.url}{a.url}/chat", data=body,
                                         headers={"X-CSRFToken": token, "HX-Request": "true"})
        barrier.wait()
        answers.append(opener.open(request).status)

    threads = [threading.Thread(target=send, args=pair) for pair in zip(openers, tokens, strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert answers == [200, 200]
    assert db.session.scalar(select(func.count()).select_from(ChatMessage)) == 1
