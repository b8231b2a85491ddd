"""Issue 9, point 6: at most ROOM_MAX_SOCKETS_PER_LINK sockets per registrant in a room (the
oldest is closed with a reason the page shows), across processes; a re-issued link closes
the old link's sockets and the old token stops working at once."""
from __future__ import annotations

import time
import uuid

import pytest

from portal.realtime import frames
from portal.realtime.hub import Hub
from portal.realtime.local_broker import LocalBroker
from portal.room.sockets import LINK_REISSUED, TOO_MANY_WINDOWS
from tests.conftest import NO_REDIS, REDIS_URL
from tests.realtime.conftest import _open_clients, connect, recv_close, recv_until, wait_for
from tests.room.conftest import register


class FakeSocket:
    def __init__(self, member: int) -> None:
        self.member = member
        self.id = uuid.uuid4().hex
        self.closed: tuple[int, str] | None = None

    def offer(self, frame: bytes) -> bool:
        return True

    def send_text(self, html: str) -> None:
        pass

    def close(self, code: int, reason: str) -> None:
        self.closed = (code, reason)


def _open(hub: Hub, channel: str, member: int, keep: int = 3) -> FakeSocket:
    s = FakeSocket(member)
    hub.join(channel, s)
    hub.cap(channel, member=member, socket_id=s.id, keep=keep, reason="too many windows")
    return s


def test_the_oldest_socket_of_a_member_is_closed_in_one_process():
    hub = Hub(LocalBroker())
    try:
        first, second, third = (_open(hub, "room:1", 7) for _ in range(3))
        other_member = _open(hub, "room:1", 8)
        other_room = _open(hub, "room:2", 7)
        assert [s.closed for s in (first, second, third, other_member, other_room)] == [None] * 5
        fourth = _open(hub, "room:1", 7)
        assert first.closed == (frames.POLICY_VIOLATION, "too many windows")
        assert [s.closed for s in (second, third, fourth, other_member, other_room)] == [None] * 5
        # a socket that left no longer counts: one goes, one comes, nobody is closed
        hub.leave("room:1", third)
        fifth = _open(hub, "room:1", 7)
        assert [s.closed for s in (second, fourth, fifth)] == [None] * 3
    finally:
        hub.close()


@pytest.mark.skipif(not REDIS_URL, reason=NO_REDIS)
def test_the_cap_holds_across_processes_through_redis():
    """Two hubs on two Redis connections: the processes of a scaled-out deployment."""
    from portal.realtime.redis_broker import RedisBroker

    prefix = f"portal-test:{uuid.uuid4().hex[:10]}:"
    a, b = Hub(RedisBroker(REDIS_URL, prefix=prefix)), Hub(RedisBroker(REDIS_URL, prefix=prefix))
    try:
        time.sleep(0.3)  # both subscriptions established
        s1 = _open(a, "room:9", 5)
        s2 = _open(b, "room:9", 5)
        s3 = _open(a, "room:9", 5)
        wait_for(lambda: a._capped_order.get(("room:9", 5)) == [s1.id, s2.id, s3.id], what="a sees three")
        s4 = _open(b, "room:9", 5)  # opened in the other process: a closes its oldest
        wait_for(lambda: s1.closed is not None, what="the oldest closed by its own process")
        assert s1.closed == (frames.POLICY_VIOLATION, "too many windows")
        a.leave("room:9", s1)  # the real connection leaves the hub once closed
        s5 = _open(a, "room:9", 5)
        wait_for(lambda: s2.closed is not None, what="the next oldest, in process b")
        assert [s.closed for s in (s3, s4, s5)] == [None] * 3
    finally:
        a.close()
        b.close()


@pytest.fixture
def live(make):
    return make.webinar(status="live")


@pytest.fixture(autouse=True)
def _close_clients():
    yield
    while _open_clients:
        ws = _open_clients.pop()
        try:
            ws.close(timeout=1)
        except Exception:
            pass
        ws.shutdown()


def test_a_fourth_window_closes_the_first_with_the_reason(app, live, live_server):
    assert app.config["ROOM_MAX_SOCKETS_PER_LINK"] == 3
    attendee, neighbour = register(live), register(live)
    windows = []
    for _ in range(3):
        ws = connect(live_server, f"/ws/room/{attendee.token}")
        ws.send('{"type": "hello", "last_message_id": 0}')
        recv_until(ws, lambda m: "room-status" in m)  # open and answered
        windows.append(ws)
    theirs = connect(live_server, f"/ws/room/{neighbour.token}")
    fourth = connect(live_server, f"/ws/room/{attendee.token}")
    assert recv_close(windows[0]) == (1008, TOO_MANY_WINDOWS)
    for ws in (*windows[1:], fourth, theirs):  # still served
        ws.send('{"type": "hello", "last_message_id": 0}')
        recv_until(ws, lambda m: "room-status" in m)


def test_the_room_page_explains_the_close_reasons(client, live):
    attendee = register(live)
    html = client.get(attendee.url).get_data(as_text=True)
    assert "data-realtime-reasons=" in html
    assert TOO_MANY_WINDOWS in html and LINK_REISSUED in html
    assert "too many windows. This window stopped" in html.replace("&#39;", "'")


def test_reissue_rotates_the_token_and_closes_the_old_links_sockets(app, live, live_server, make):
    from tests.conftest import Auth, FreshGClient, csrf_token_from

    attendee = register(live)
    ws = connect(live_server, f"/ws/room/{attendee.token}")
    ws.send('{"type": "hello", "last_message_id": 0}')
    recv_until(ws, lambda m: "room-status" in m)
    app.test_client_class = FreshGClient
    owner = app.test_client()
    assert Auth(owner).login(live.owner.email).status_code == 302
    path = f"/admin/webinars/{live.webinar_id}/registrations"
    page = owner.get(path).get_data(as_text=True)
    assert 'data-testid="registration-reissue"' in page
    response = owner.post(f"{path}/{attendee.reg.registration_id}/reissue",
                          headers={"X-CSRFToken": csrf_token_from(page), "HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "no-store" in response.headers["Cache-Control"]
    assert 'data-testid="registration-new-link"' in html
    new_token = html.split("http://localhost/room/", 1)[1].split('"', 1)[0]
    assert new_token != attendee.token
    assert recv_close(ws) == (1008, LINK_REISSUED)
    plain = app.test_client()
    assert plain.get(attendee.url).status_code == 404  # the old link is dead at once
    assert plain.get(f"/room/{new_token}").status_code == 200
    # the new link is shown once: the table does not show it again
    assert new_token not in owner.get(path).get_data(as_text=True)


def test_reissue_is_refused_for_a_banned_registrant_and_for_other_organizers(app, live, make):
    from portal.extensions import db
    from portal.registration.models import Registration
    from portal.room import moderation
    from tests.conftest import Auth, FreshGClient, csrf_token_from

    attendee = register(live)
    moderation.ban(live, attendee.reg.lead_id, actor=live.owner)
    before = db.session.get(Registration, attendee.reg.registration_id).join_token_hash
    app.test_client_class = FreshGClient
    path = f"/admin/webinars/{live.webinar_id}/registrations"
    owner = app.test_client()
    assert Auth(owner).login(live.owner.email).status_code == 302
    token = csrf_token_from(owner.get(path).get_data(as_text=True))
    refused = owner.post(f"{path}/{attendee.reg.registration_id}/reissue",
                         headers={"X-CSRFToken": token, "HX-Request": "true"})
    assert refused.status_code == 409 and "banned" in refused.get_data(as_text=True)
    stranger_user = make.user(role="organizer")
    stranger = app.test_client()
    assert Auth(stranger).login(stranger_user.email).status_code == 302
    token = csrf_token_from(stranger.get("/admin/").get_data(as_text=True))
    other = register(live)
    answer = stranger.post(f"{path}/{other.reg.registration_id}/reissue",
                           headers={"X-CSRFToken": token, "HX-Request": "true"})
    assert answer.status_code in (403, 404)
    db.session.expire_all()
    assert db.session.get(Registration, attendee.reg.registration_id).join_token_hash == before
