"""Realtime fixtures: stand-ins for the room's presence/snapshot, registrations, socket clients."""
from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
import websocket
from flask import Flask

from portal.extensions import db
from portal.realtime import runtime
from portal.registration import tokens
from portal.registration.models import Registration
from tests import factories
from tests.conftest import csrf_token_from

SNAPSHOT_ID = "rt-snapshot"


@dataclass
class RoomCalls:
    """What the socket layer asked of the room (presence and snapshots), in order."""

    connected: list[tuple[int, str]] = field(default_factory=list)
    disconnected: list[tuple[int, str, str]] = field(default_factory=list)
    snapshots: list[tuple[str, int, int, str]] = field(default_factory=list)


@pytest.fixture
def room_calls(monkeypatch: pytest.MonkeyPatch) -> RoomCalls:
    """Stand-ins for the room's presence.connected/closed and fragments.snapshot (the
    contract's signatures), recording calls, so these tests isolate the socket layer."""
    from portal.attendance import presence
    from portal.console import fragments as console_fragments
    from portal.room import fragments

    calls = RoomCalls()

    def connected(reg: Registration, *, connection_id: str) -> None:
        calls.connected.append((reg.registration_id, connection_id))

    def closed(registration_id: int, webinar_id: int, *, connection_id: str, reason: str) -> None:
        calls.disconnected.append((registration_id, connection_id, reason))

    def snapshot_of(audience: str):
        def snapshot(actor: Any, webinar: Any, *, since_message_id: int, **_: Any) -> str:
            calls.snapshots.append((type(actor).__name__, webinar.webinar_id, since_message_id, audience))
            return (f'<div id="{SNAPSHOT_ID}" hx-swap-oob="true" data-since="{since_message_id}" '
                    f'data-audience="{audience}" data-status="{webinar.status}"></div>')
        return snapshot

    monkeypatch.setattr(presence, "connected", connected)
    monkeypatch.setattr(presence, "closed", closed)
    monkeypatch.setattr(fragments, "snapshot", snapshot_of("room"))
    monkeypatch.setattr(console_fragments, "snapshot", snapshot_of("console"))
    return calls


@pytest.fixture(autouse=True)
def _close_sockets_and_hub(request: pytest.FixtureRequest) -> Iterator[None]:
    """After each test: close the client sockets it opened, wait until the server has finished
    with them (presence written, sessions returned), then close the app's broker."""
    app = request.getfixturevalue("app") if "app" in request.fixturenames else None
    yield
    while _open_clients:
        ws = _open_clients.pop()
        ws.close(timeout=1)
        ws.shutdown()  # close() does nothing once the server has closed the socket
    if app is not None:
        realtime = app.extensions.get("portal.realtime")
        hub = realtime._hub if realtime is not None else None
        if hub is not None:
            wait_for(lambda: hub.open_sockets == 0, timeout=10, what="server sockets to finish")
        runtime.shutdown(app)


@pytest.fixture
def redis_prefix() -> str:
    """A prefix of our own: pub/sub ignores Redis database numbers, so parallel runs must not collide."""
    return f"portal-test:{uuid.uuid4().hex[:10]}:"


def make_registration(webinar, *, lead=None, revoked: bool = False, banned: bool = False) -> tuple[Registration, str]:
    """A registration and its join token (stored hashed, as registration does)."""
    from portal.db_types import utcnow

    lead = lead or factories.lead()
    token, token_hash = tokens.new_token()
    reg = Registration(webinar_id=webinar.webinar_id, lead_id=lead.user_id, webinar_type=webinar.type,
                       source="test", join_token_hash=token_hash,
                       revoked_at=utcnow() if revoked else None, banned_at=utcnow() if banned else None)
    db.session.add(reg)
    db.session.commit()
    return reg, token


@pytest.fixture
def live_webinar(make):
    speaker = make.user(role="speaker")
    webinar = make.webinar(status="live", speakers=(speaker,))
    webinar.test_speaker = speaker  # type: ignore[attr-defined]
    return webinar


def ws_url(server, path: str) -> str:
    return server.url.replace("http://", "ws://") + path


def connect(server, path: str, *, origin: str | None = "same", cookie: str | None = None,
            timeout: float = 5) -> websocket.WebSocket:
    """A real websocket-client connection; origin "same" is the server's own origin, None sends none."""
    options: dict[str, Any] = {"timeout": timeout}
    if origin is None:
        options["suppress_origin"] = True
    else:
        options["origin"] = server.url if origin == "same" else origin
    if cookie:
        options["cookie"] = cookie
        options["header"] = [f"User-Agent: {USER_AGENT}"]
    ws = websocket.create_connection(ws_url(server, path), **options)
    _open_clients.append(ws)
    return ws


_open_clients: list[websocket.WebSocket] = []


def recv_until(ws: websocket.WebSocket, predicate: Callable[[str], bool], *, timeout: float = 5) -> str:
    """The first text message matching `predicate` (others are skipped)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ws.settimeout(max(deadline - time.monotonic(), 0.05))
        message = ws.recv()
        if isinstance(message, str) and predicate(message):
            return message
    raise AssertionError("no matching message before the timeout")


def recv_close(ws: websocket.WebSocket, *, timeout: float = 5) -> tuple[int, str]:
    """Read until the server's close frame: (code, reason)."""
    ws.settimeout(timeout)
    while True:
        opcode, data = ws.recv_data(control_frame=True)
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            code = int.from_bytes(data[:2], "big") if len(data) >= 2 else 1005
            return code, data[2:].decode("utf-8")


def wait_for(predicate: Callable[[], Any], *, timeout: float = 5, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


USER_AGENT = "portal-realtime-tests"


def login_cookie(server, email: str, password: str = factories.PASSWORD) -> str:
    """Log in over HTTP through the real form; the session cookie for a socket with USER_AGENT.

    Flask-Login's strong session protection binds the session to address and user agent, so
    the socket must present the same User-Agent as the login did.
    """
    import http.cookiejar
    import urllib.parse
    import urllib.request

    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.addheaders = [("User-Agent", USER_AGENT)]
    with opener.open(server.url + "/login") as response:
        page = response.read().decode()
    form = urllib.parse.urlencode({"email": email, "password": password, "csrf_token": csrf_token_from(page)})
    with opener.open(server.url + "/login", data=form.encode()) as response:
        response.read()
    cookies = {c.name: c.value for c in jar}
    assert "session" in cookies, "login did not set a session"
    return f"session={cookies['session']}"


def flash_text(message: str) -> str:
    match = re.search(r'role="alert">([^<]*)<', message)
    return match.group(1) if match else ""


@contextmanager
def app_on(database_url: str) -> Iterator[Flask]:
    """A portal app bound to `database_url` (tables created), its app context pushed."""
    from portal import create_app, shutdown

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "test-secret",
                      "REDIS_URL": "", "SERVER_NAME": None})
    with app.app_context():
        db.create_all()
        try:
            yield app
        finally:
            shutdown(app)
            db.session.remove()
            db.engine.dispose()
