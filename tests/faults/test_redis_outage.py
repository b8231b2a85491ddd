"""Issue 9, point 8: Redis down mid-webinar, and a worker that starts while Redis is down.

Real parts: a redis-server this test starts and SIGKILLs (tests/faults/conftest.py), the
portal under gunicorn + gevent in its own process holding the sockets, this process acting
as a second worker (status, CTA and chat changes through the domain, publishing through the
same Redis), and real websocket clients that behave like static/js/realtime.js: `hello` after
connecting and again when the server asks for a resync, from the last message they had
before the gap began. Each page must end with the right status, CTA and every message,
each message stored once.
"""
from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
import uuid
from datetime import datetime

import pytest

from portal.core import lifecycle
from portal.extensions import db
from portal.room import chat
from portal.room.models import ChatMessage
from tests.realtime.conftest import connect, make_registration

PREFIX = f"portal-fault:{uuid.uuid4().hex[:8]}:"
RESYNC = re.compile(r'^<template data-realtime="resync" data-since="([0-9.]+)"></template>$')


@pytest.fixture
def app_config(app_config: dict, own_redis) -> dict:
    """This process is a second worker on the same database and Redis."""
    return {**app_config, "REDIS_URL": own_redis.url, "REALTIME_REDIS_PREFIX": PREFIX}


@pytest.fixture
def portal_env(_schema: str, own_redis) -> dict[str, str]:
    return {"PORTAL_DATABASE_URL": _schema, "PORTAL_REDIS_URL": own_redis.url, "PORTAL_REALTIME_REDIS_PREFIX": PREFIX}


class Page:
    """A room page as realtime.js + room.js keep it: regions by id, chat merged by id."""

    def __init__(self, server, token: str) -> None:
        self.ws = connect(server, f"/ws/room/{token}", timeout=10)
        self.status: str | None = None
        self.cta: bool | None = None
        self.chat: dict[int, float] = {}  # message id -> written at (Unix seconds)
        self.resyncs = 0
        self.hello()

    def hello(self, before: float | None = None) -> None:
        ids = [i for i, at in self.chat.items() if before is None or at < before]
        self.ws.send(json.dumps({"type": "hello", "last_message_id": max(ids, default=0)}))

    def take(self, message: str) -> None:
        if resync := RESYNC.match(message):
            self.resyncs += 1
            self.hello(float(resync.group(1)))
            return
        if status := re.search(r'id="room-status"[^>]*data-status="(\w+)"', message):
            self.status = status.group(1)
        if 'id="room-cta"' in message:
            self.cta = 'data-testid="cta"' in message
        for item in re.finditer(r'<li id="msg-(\d+)"(.*?)</li>', message, re.S):
            message_id, rest = int(item.group(1)), item.group(2)
            if "data-removed" in rest:
                self.chat.pop(message_id, None)
            elif at := re.search(r'datetime="([^"]+)"', rest):
                self.chat[message_id] = datetime.fromisoformat(at.group(1)).timestamp()

    def until(self, done, *, timeout: float = 20, what: str = "the page") -> None:
        deadline = time.monotonic() + timeout
        while not done(self):
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"timed out waiting for {what}: status={self.status} cta={self.cta} "
                                     f"chat={sorted(self.chat)} resyncs={self.resyncs}")
            self.ws.settimeout(min(left, 1.0))
            try:
                message = self.ws.recv()
            except Exception as error:  # noqa: BLE001 - a read timeout: look again
                if "timed out" not in str(error).lower():
                    raise
                continue
            if isinstance(message, str):
                self.take(message)

    def post(self, body: str) -> None:
        self.ws.send(json.dumps({"type": "chat", "body": body, "client_id": uuid.uuid4().hex}))


def _stored(webinar_id: int) -> list[tuple[int, str]]:
    db.session.rollback()
    return [(m.message_id, m.message_body) for m in
            db.session.query(ChatMessage).filter_by(webinar_id=webinar_id).order_by(ChatMessage.message_id)]


def _poll(server, token: str, etag: str | None) -> tuple[int, str, str]:
    headers = {"HX-Request": "true", **({"If-None-Match": etag} if etag else {})}
    request = urllib.request.Request(f"{server.url}/room/{token}/state?since=0", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers.get("ETag", ""), response.read().decode()
    except urllib.error.HTTPError as error:
        body = error.read().decode()
        error.close()
        return error.code, error.headers.get("ETag", ""), body


def test_redis_killed_mid_webinar_every_socket_catches_up_when_it_returns(app, make, own_redis, gunicorn_portal,
                                                                          portal_env):
    server = gunicorn_portal(portal_env)
    speaker, owner = make.user(role="speaker"), make.user(role="organizer")
    webinar = make.webinar(status="live", owner=owner, speakers=(speaker,), cta_url="https://example.com/offer",
                           cta_text="Buy")
    tokens = [make_registration(webinar)[1] for _ in range(2)]
    pages = [Page(server, token) for token in tokens]
    for page in pages:
        page.until(lambda p: p.status == "live", what="the first snapshot")
    _, etag, _ = _poll(server, tokens[0], None)
    assert _poll(server, tokens[0], etag)[0] == 304

    pages[0].post("before the outage")
    for page in pages:
        page.until(lambda p: len(p.chat) == 1, what="the first message")

    own_redis.kill()
    # Chat keeps working: stored, and pushed at once to the sockets of the process that stored it.
    pages[0].post("during the outage, socket")
    for page in pages:
        page.until(lambda p: len(p.chat) == 2, what="the message posted during the outage")
    # The other worker (this process) changes status and CTA and posts: stored, not pushed yet.
    lifecycle.core_webinar_set_cta_visibility(webinar, "visible", actor=speaker)
    lifecycle.pause(webinar, actor=owner)
    chat.post_as_staff(speaker, webinar, "during the outage, other worker")
    assert [body for _, body in _stored(webinar.webinar_id)] == [
        "before the outage", "during the outage, socket", "during the outage, other worker"]
    # The polling fallback answers from the database (not 500, not a stale 304).
    status, _, body = _poll(server, tokens[1], etag)
    assert status == 200 and 'data-status="paused"' in body and 'data-testid="cta"' in body
    assert "during the outage, other worker" in body

    own_redis.start()
    stored = [message_id for message_id, _ in _stored(webinar.webinar_id)]
    for page in pages:
        page.until(lambda p: p.status == "paused" and p.cta is True and sorted(p.chat) == stored,
                   what="the catch-up after Redis returned")
        assert page.resyncs >= 1

    # And live pushes across processes work again.
    lifecycle.core_webinar_set_cta_visibility(webinar, "hidden", actor=speaker)
    for page in pages:
        page.until(lambda p: p.cta is False, what="a push after the recovery")
    assert len(_stored(webinar.webinar_id)) == 3  # nothing doubled


def test_a_worker_that_starts_while_redis_is_down_serves_sockets_locally(app, make, own_redis, gunicorn_portal,
                                                                        portal_env):
    speaker, owner = make.user(role="speaker"), make.user(role="organizer")
    webinar = make.webinar(status="live", owner=owner, speakers=(speaker,), cta_url="https://example.com/offer",
                           cta_text="Buy")
    tokens = [make_registration(webinar)[1] for _ in range(2)]
    own_redis.kill()
    server = gunicorn_portal(portal_env)
    pages = [Page(server, token) for token in tokens]
    for page in pages:
        page.until(lambda p: p.status == "live", what="the snapshot without Redis")
    pages[0].post("no redis yet")
    for page in pages:
        page.until(lambda p: len(p.chat) == 1, what="a local push without Redis")
    lifecycle.pause(webinar, actor=owner)  # another worker, its publish lost

    own_redis.start()
    for page in pages:
        page.until(lambda p: p.status == "paused", what="the catch-up once Redis answers")
    lifecycle.core_webinar_set_cta_visibility(webinar, "visible", actor=speaker)
    for page in pages:
        page.until(lambda p: p.cta is True, what="a push through Redis")
    assert [body for _, body in _stored(webinar.webinar_id)] == ["no redis yet"]
