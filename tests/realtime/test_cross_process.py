"""SPEC §9: an event raised in one OS process reaches a socket held by another (Redis broker).

The other process is the production setup (`gunicorn -k gevent` with gunicorn.conf.py, like
`make run`), so this also runs the socket layer under gevent. It uses the room's real presence
and snapshot, not stand-ins.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from portal import realtime
from portal.room.channels import room_channel
from tests.conftest import NO_REDIS, REDIS_URL
from tests.realtime.conftest import connect, make_registration, recv_close, recv_until, wait_for

ROOT = Path(__file__).resolve().parents[2]
PREFIX = f"portal-test:{uuid.uuid4().hex[:10]}:"
HTTP_STALE_SECONDS = 8  # over presence.HTTP_TOUCH_SECONDS (5): a page still polling is never closed

pytestmark = pytest.mark.skipif(not REDIS_URL, reason=f"{NO_REDIS} (the cross-process path needs one)")


class Server:
    def __init__(self, url: str, process: subprocess.Popen, log: Path) -> None:
        self.url, self.process, self.log = url, process, log


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def other_process(_schema: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The portal served by gunicorn + gevent in its own process, sharing database and Redis."""
    port = _free_port()
    log = tmp_path_factory.mktemp("gunicorn") / "server.log"
    env = {
        **os.environ,
        "PORTAL_DATABASE_URL": _schema,
        "PORTAL_REDIS_URL": REDIS_URL,
        "PORTAL_REALTIME_REDIS_PREFIX": PREFIX,
        "PORTAL_SECRET_KEY": "cross-process-secret-of-at-least-32-bytes",
        "PORTAL_ACCESS_LOG": "/dev/null",
        "PORTAL_WORKERS": "1",
        # A page that only polls is present until it has been silent this long (45 s by
        # default): the 304 test's page has left by the time `_settled` looks.
        "PORTAL_ATTENDANCE_HTTP_STALE_SECONDS": str(HTTP_STALE_SECONDS),
    }
    gunicorn = Path(sys.executable).with_name("gunicorn")
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [str(gunicorn), "--config", "gunicorn.conf.py", "--no-control-socket", "--bind", f"127.0.0.1:{port}",
             "wsgi:app"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    server = Server(f"http://127.0.0.1:{port}", process, log)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(server.url + "/healthz", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:  # not listening yet, or still booting
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("gunicorn did not start:\n" + log.read_text())
            time.sleep(0.2)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


@pytest.fixture(autouse=True)
def _settled(app) -> Iterator[None]:
    """Let the other process finish each test's goodbyes (attendance closed) before the next
    test empties the tables under it."""
    yield
    from portal.attendance.models import Attendance
    from portal.extensions import db
    from tests.realtime.conftest import _open_clients

    while _open_clients:
        ws = _open_clients.pop()
        ws.close(timeout=1)
        ws.shutdown()

    def all_left() -> bool:
        db.session.rollback()
        return db.session.query(Attendance).filter(Attendance.left_at.is_(None)).count() == 0

    # A silent polling page is closed by the other process's sweep (every 5 s): within ~14 s.
    wait_for(all_left, timeout=30, what="the other process to close its attendances")


@pytest.fixture
def app_config(app_config: dict) -> dict:
    """This process publishes through the same Redis, under the same prefix."""
    return {**app_config, "REDIS_URL": REDIS_URL, "REALTIME_REDIS_PREFIX": PREFIX}


def test_a_publish_here_reaches_a_socket_held_by_the_other_process(other_process, live_webinar):
    _, token = make_registration(live_webinar)
    ws = connect(other_process, f"/ws/room/{token}")
    # The real snapshot answers hello: the socket is up and its process is subscribed.
    ws.send(json.dumps({"type": "hello", "last_message_id": 0}))
    recv_until(ws, lambda m: 'id="room-status"' in m)
    realtime.publish(room_channel(live_webinar.webinar_id),
                     '<div id="cta" hx-swap-oob="true" data-from="test-process"></div>')
    assert 'data-from="test-process"' in recv_until(ws, lambda m: "test-process" in m)


def test_a_disconnect_here_closes_the_leads_socket_in_the_other_process(other_process, live_webinar):
    banned, banned_token = make_registration(live_webinar)
    _, other_token = make_registration(live_webinar)
    tab, other = connect(other_process, f"/ws/room/{banned_token}"), connect(other_process, f"/ws/room/{other_token}")
    for ws in (tab, other):
        ws.send(json.dumps({"type": "hello", "last_message_id": 0}))
        recv_until(ws, lambda m: 'id="room-status"' in m)
    realtime.disconnect(room_channel(live_webinar.webinar_id), member=banned.lead_id, reason="banned")
    assert recv_close(tab) == (1008, "banned")
    realtime.publish(room_channel(live_webinar.webinar_id), '<p id="after-ban" hx-swap-oob="true"></p>')
    recv_until(other, lambda m: "after-ban" in m)


def test_the_other_process_answers_304_until_this_one_publishes(other_process, live_webinar):
    _, token = make_registration(live_webinar)
    url = f"{other_process.url}/room/{token}/state?since=0"

    def poll(etag: str | None = None) -> tuple[int, str]:
        headers = {"HX-Request": "true", **({"If-None-Match": etag} if etag else {})}
        request = urllib.request.Request(url, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return response.status, response.headers["ETag"]
        except urllib.error.HTTPError as error:
            error.close()
            return error.code, error.headers.get("ETag", "")

    status, etag = poll()
    assert status == 200
    # A page that polls is present (issue 9): the other process enters it within a second
    # and pushes the room's count once, which moves the version. Wait for the entry (a 304
    # before it would be undone by that push), then poll until the version settles.
    wait_for(lambda: _polling_page_entered(live_webinar.webinar_id, poll), timeout=10,
             what="the other process to enter the polling page")
    deadline = time.monotonic() + 10
    while (answer := poll(etag))[0] == 200 and time.monotonic() < deadline:
        etag = answer[1]
        time.sleep(0.3)
    assert answer[0] == 304
    assert poll(etag)[0] == 304  # nothing changed: still 304
    realtime.publish(room_channel(live_webinar.webinar_id), "<p></p>")
    assert poll(etag)[0] == 200


def _polling_page_entered(webinar_id: int, poll: Callable[[], tuple[int, str]]) -> bool:
    """Is the page's attendance row open? Polls again meanwhile, as the page would."""
    from portal.attendance.models import Attendance
    from portal.extensions import db

    poll()
    db.session.rollback()
    return db.session.query(Attendance).filter(Attendance.webinar_id == webinar_id,
                                               Attendance.left_at.is_(None)).count() == 1
