"""Rate limits on the catch-up paths: `hello` frames (room and console) and the full answers of
the polling state endpoints, per registration / staff member; a 304 is never counted."""
from __future__ import annotations

from types import MappingProxyType

import pytest

import portal.ratelimit as ratelimit
from portal.console import sockets as console_sockets
from portal.errors import RateLimited
from portal.realtime import Admission
from portal.room import sockets as room_sockets
from portal.room.channels import console_channel
from tests.room.conftest import RecordingContext, register, room_socket


@pytest.fixture
def live(make):
    return make.webinar(status="live")


@pytest.fixture(autouse=True)
def _small_limits(monkeypatch):
    monkeypatch.setattr(ratelimit, "HELLOS_PER_MINUTE", 2)
    monkeypatch.setattr(ratelimit, "POLLS_PER_MINUTE", 3)


@pytest.fixture
def request_ctx(app):
    """Handlers render templates, as inside the socket's request; popped at the end."""
    with app.test_request_context():
        yield


def state(client, url: str, etag: str | None = None):
    headers = {"HX-Request": "true", **({"If-None-Match": etag} if etag else {})}
    return client.get(url, headers=headers)


def test_room_polling_is_limited_per_registration_and_304s_are_free(client, live):
    a, b = register(live), register(live)
    first = state(client, f"{a.url}/state")
    assert first.status_code == 200
    etag = first.headers["ETag"]
    # Nothing changed: any number of 304s, none of them counted.
    assert {state(client, f"{a.url}/state", etag).status_code for _ in range(10)} == {304}
    assert [state(client, f"{a.url}/state").status_code for _ in range(3)] == [200, 200, 429]
    refused = state(client, f"{a.url}/state")
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    assert "asked for updates too often" in refused.get_data(as_text=True)
    # Still told "nothing changed" when it has an ETag; another attendee is not slowed down.
    assert state(client, f"{a.url}/state", etag).status_code == 304
    assert state(client, f"{b.url}/state").status_code == 200


def test_room_hello_is_limited_per_registration(request_ctx, live):
    a, b = register(live), register(live)
    ctx = room_socket(a.reg)
    room_sockets.on_hello(ctx, {"type": "hello", "last_message_id": 0})
    room_sockets.on_hello(room_socket(a.reg, "another-socket"), {"type": "hello"})
    sent = len(ctx.sent)
    with pytest.raises(RateLimited) as refused:  # the transport shows it as the flash line
        room_sockets.on_hello(ctx, {"type": "hello"})
    assert "reconnected too often" in refused.value.message
    assert len(ctx.sent) == sent  # no snapshot rendered for the refused hello
    room_sockets.on_hello(room_socket(b.reg), {"type": "hello"})


def test_console_polling_and_hello_are_limited_per_staff_member(request_ctx, client, auth, live):
    host = live.owner
    auth.login(host.email)
    url = f"/console/{live.webinar_id}/state"
    assert [state(client, url).status_code for _ in range(4)] == [200, 200, 200, 429]
    admission = Admission(console_channel(live.webinar_id), "console", member=host.user_id,
                          ids=MappingProxyType({"user_id": host.user_id, "webinar_id": live.webinar_id}))
    ctx = RecordingContext(admission)
    console_sockets.on_hello(ctx, {"type": "hello"})
    console_sockets.on_hello(ctx, {"type": "hello"})
    assert ctx.sent
    with pytest.raises(RateLimited):
        console_sockets.on_hello(ctx, {"type": "hello"})
