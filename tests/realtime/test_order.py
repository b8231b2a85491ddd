"""Issue 9, point 15: two changes committed close together reach every page in commit order.

Two threads change the CTA through Core's hook one right after the other (one shows it, the
other hides it the moment the "show" is committed, while its push is still on the way), many
times over; the two pushes race each other to the broker. After every round each socket's
last CTA region must be the state of the last commit (the database's), on the in-process
broker and on Redis.
"""
from __future__ import annotations

import json
import threading
import time

import pytest

from portal import realtime
from portal.core import lifecycle
from portal.core.models import User, Webinar
from portal.extensions import db
from portal.room.channels import room_channel
from tests.realtime.conftest import connect, make_registration, recv_until

ROUNDS = 30
SOCKETS = 3


@pytest.fixture(params=["local", "redis"])
def app_config(request: pytest.FixtureRequest, app_config: dict) -> dict:
    if request.param == "redis":
        return {**app_config, "REDIS_URL": request.getfixturevalue("redis_url"),
                "REALTIME_REDIS_PREFIX": request.getfixturevalue("redis_prefix")}
    return app_config


class Page:
    """What one socket shows of the CTA: the last room-cta region it received."""

    def __init__(self, ws) -> None:
        self.ws = ws
        self.cta_visible: bool | None = None

    def read_until(self, marker: str) -> None:
        def seen(message: str) -> bool:
            if 'id="room-cta"' in message:
                self.cta_visible = 'data-testid="cta"' in message
            return marker in message
        recv_until(self.ws, seen, timeout=10)

    def drain(self, seconds: float) -> None:
        """Whatever else arrives shortly after (a publish that lost the race would come now)."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            self.ws.settimeout(left)
            try:
                message = self.ws.recv()
            except Exception:  # noqa: BLE001 - the timeout ends the drain
                return
            if isinstance(message, str) and 'id="room-cta"' in message:
                self.cta_visible = 'data-testid="cta"' in message


def _show(app, webinar_id: int, actor_id: int, barrier: threading.Barrier) -> None:
    with app.app_context():
        webinar, actor = db.session.get(Webinar, webinar_id), db.session.get(User, actor_id)
        barrier.wait()
        lifecycle.core_webinar_set_cta_visibility(webinar, "visible", actor=actor)
        db.session.remove()


def _hide_right_after(app, webinar_id: int, actor_id: int, barrier: threading.Barrier) -> None:
    """Hide the CTA the moment the other thread's "visible" is committed (while its push runs)."""
    with app.app_context():
        actor = db.session.get(User, actor_id)
        barrier.wait()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            webinar = db.session.get(Webinar, webinar_id, populate_existing=True)
            if webinar.cta_visibility == "visible":
                lifecycle.core_webinar_set_cta_visibility(webinar, "hidden", actor=actor)
                break
            db.session.rollback()
        db.session.remove()


def test_two_changes_committed_together_end_every_page_on_the_last_commit(app, live_server, make):
    speaker = make.user(role="speaker")
    webinar = make.webinar(status="live", speakers=(speaker,), cta_url="https://example.com/offer",
                           cta_text="Buy")
    pages = []
    for _ in range(SOCKETS):
        _, token = make_registration(webinar)
        ws = connect(live_server, f"/ws/room/{token}")
        ws.send(json.dumps({"type": "hello", "last_message_id": 0}))
        page = Page(ws)
        page.read_until('id="room-status"')
        pages.append(page)

    wrong = []
    for round_ in range(ROUNDS):
        barrier = threading.Barrier(2)
        threads = [threading.Thread(target=fn, args=(app, webinar.webinar_id, speaker.user_id, barrier))
                   for fn in (_show, _hide_right_after)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        marker = f"round-{round_}-done"
        realtime.publish(room_channel(webinar.webinar_id), f'<p id="{marker}" hx-swap-oob="true"></p>')
        db.session.expire_all()
        committed = db.session.get(Webinar, webinar.webinar_id).cta_visibility == "visible"
        for page in pages:
            page.read_until(marker)
            page.drain(0.15)
            if page.cta_visible is not None and page.cta_visible != committed:
                wrong.append((round_, committed, page.cta_visible))
    assert wrong == []
    assert all(page.cta_visible is not None for page in pages)
