"""Reactions: taps tallied and rate limited, one burst a second, totals per minute; refusals
store and push nothing (quietly on the socket, with a message over HTTP)."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import event, func, select

from portal import reactions
from portal.db_types import utcnow
from portal.extensions import db
from portal.reactions import push, service
from portal.reactions.models import ReactionCount
from portal.realtime.runtime import current_hub
from portal.room import moderation
from portal.room.channels import console_channel, room_channel
from tests.conftest import csrf_token_from
from tests.room.conftest import register, room_socket


@pytest.fixture
def live(make):
    return make.webinar(status="live")


def taps_stored() -> int:
    db.session.expire_all()
    return int(db.session.scalar(select(func.coalesce(func.sum(ReactionCount.taps), 0))))


def tap(reg, reaction="clap", connection_id="conn"):
    ctx = room_socket(reg, connection_id)
    reactions.on_react(ctx, {"type": "react", "reaction": reaction})
    return ctx


def htmx(token: str) -> dict[str, str]:
    return {"X-CSRFToken": token, "HX-Request": "true"}


def burst_counts(html: str) -> dict[str, int]:
    assert html.count('id="reaction-burst"') == 1  # one variant for every language
    return {name: int(n) for name, n in re.findall(r'data-reaction="(\w+)" data-count="(\d+)"', html)}


def test_taps_become_one_burst_per_second_and_totals(app, live, volatile, pushes):
    a, b = register(live), register(live)
    for reaction in ("clap", "clap", "love"):
        tap(a.reg, reaction)
    tap(b.reg, "clap", "conn-b")
    version = current_hub().version(room_channel(live.webinar_id))
    push.tick(app)
    assert current_hub().version(room_channel(live.webinar_id)) == version  # pollers keep their 304
    [burst] = volatile.to(room_channel(live.webinar_id))
    assert burst_counts(burst) == {"clap": 3, "love": 1}
    assert 'id="reaction-burst"' in burst and 'hx-swap-oob="true"' in burst
    assert taps_stored() == 4
    [console] = pushes.to(console_channel(live.webinar_id))
    assert 'id="console-reactions"' in console and re.search(r'data-reaction="clap">.*?<strong>3</strong>', console)
    assert not pushes.to(room_channel(live.webinar_id))  # the burst is volatile: pollers keep their 304

    push.tick(app)  # a quiet second: nothing at all
    assert len(volatile.sent) == 1 and len(pushes.to(console_channel(live.webinar_id))) == 1


def test_a_storm_is_still_one_frame_per_second(app, live, volatile):
    attendees = [register(live) for _ in range(30)]
    for i in range(300):
        tap(attendees[i % 30].reg, service.REACTIONS[i % 5], f"c{i % 30}")
    push.tick(app)
    [burst] = volatile.to(room_channel(live.webinar_id))
    assert sum(burst_counts(burst).values()) == 300
    # Taps right after the burst wait for the next second: the leader's interval is not over.
    tap(attendees[0].reg, "wow", "c0")
    push.state(app).ticker.tick()
    assert len(volatile.sent) == 1
    push.state(app).recent.clear()


def test_rate_limit_is_quiet_on_the_socket_and_clear_over_http(app, client, live, volatile):
    a = register(live)
    for _ in range(service.TAPS_PER_WINDOW):
        assert tap(a.reg).sent == []
    refused = tap(a.reg)
    assert refused.sent == []  # no error frame for a tapping thumb
    token = csrf_token_from(client.get(a.url).get_data(as_text=True))
    response = client.post(f"{a.url}/react", data={"reaction": "clap"}, headers=htmx(token))
    assert response.status_code == 429
    assert "Wait a few seconds before reacting again" in response.get_data(as_text=True)
    push.tick(app)
    assert taps_stored() == service.TAPS_PER_WINDOW
    [burst] = volatile.to(room_channel(live.webinar_id))
    assert burst_counts(burst) == {"clap": service.TAPS_PER_WINDOW}


def test_the_http_fallback_taps(app, client, live, volatile):
    a = register(live)
    token = csrf_token_from(client.get(a.url).get_data(as_text=True))
    response = client.post(f"{a.url}/react", data={"reaction": "love"}, headers=htmx(token))
    assert response.status_code == 204
    push.tick(app)
    assert burst_counts(volatile.to(room_channel(live.webinar_id))[0]) == {"love": 1}


def _mute(reg):
    reg.chat_muted_at = utcnow()


def _ban(reg):
    reg.banned_at = utcnow()


def _revoke(reg):
    reg.revoked_at = utcnow()


@pytest.mark.parametrize("spoil,reaction,status,message", [
    (None, "kiss", 422, "Unknown reaction."),
    (None, "x" * 5000, 422, "Unknown reaction."),
    (None, None, 422, "Unknown reaction."),
    (_mute, "clap", 403, "The host has turned off reactions for you."),
    (_ban, "clap", 404, None),
    (_revoke, "clap", 404, None),
])
def test_refused_taps_store_and_push_nothing(app, client, live, volatile, pushes, spoil, reaction, status, message):
    a = register(live)
    token = csrf_token_from(client.get(a.url).get_data(as_text=True))
    if spoil is not None:
        spoil(a.reg)
        db.session.commit()
    assert tap(a.reg, reaction).sent == []
    data = {"reaction": reaction} if reaction is not None else {}
    response = client.post(f"{a.url}/react", data=data, headers=htmx(token))
    assert response.status_code == status
    if message:
        assert message in response.get_data(as_text=True)
    pushes.clear()
    push.tick(app)
    assert taps_stored() == 0 and volatile.sent == [] and pushes.sent == []


def test_no_reactions_before_the_start(app, client, make, volatile):
    scheduled = make.webinar(status="scheduled")
    a = register(scheduled)
    tap(a.reg)
    token = csrf_token_from(client.get(a.url).get_data(as_text=True))
    response = client.post(f"{a.url}/react", data={"reaction": "clap"}, headers=htmx(token))
    assert response.status_code == 422 and "Reactions open when the webinar is live." in response.get_data(as_text=True)
    push.tick(app)
    assert taps_stored() == 0 and volatile.sent == []


def test_the_http_fallback_needs_csrf(client, live):
    a = register(live)
    assert client.post(f"{a.url}/react", data={"reaction": "clap"}).status_code in (400, 403)
    assert taps_stored() == 0


def test_room_shows_the_bar_and_console_the_totals(app, client, auth, make, live):
    a = register(live)
    page = client.get(a.url).get_data(as_text=True)
    assert 'data-testid="reaction-bar"' in page and page.count("data-reaction=") == len(service.REACTIONS)
    tap(a.reg, "wow")
    push.tick(app)
    owner = live.owner
    auth.login(owner.email)
    console = client.get(f"/console/{live.webinar_id}").get_data(as_text=True)
    assert 'data-testid="console-reactions"' in console and 'data-testid="console-health"' in console
    assert re.search(r'data-reaction="wow">.*?<strong>1</strong>', console)


def test_minutes_add_up_across_ticks(app, live):
    first = utcnow().replace(second=5)
    service.record({live.webinar_id: service.Counter({"clap": 2})}, at=first)
    service.record({live.webinar_id: service.Counter({"clap": 3, "like": 1})}, at=first.replace(second=40))
    [(minute, counts)] = service.per_minute(live.webinar_id)
    assert minute == first.replace(second=0, microsecond=0) and counts == {"clap": 5, "like": 1}
    assert service.totals(live.webinar_id) == {"clap": 5, "like": 1}


def test_the_report_shows_the_totals(app, client, auth, live):
    service.record({live.webinar_id: service.Counter({"clap": 4, "love": 2})}, at=utcnow())
    auth.login(live.owner.email)
    page = client.get(f"/admin/webinars/{live.webinar_id}/analytics").get_data(as_text=True)
    section = page.split('data-testid="report-reactions"', 1)[1].split("</section>", 1)[0]
    assert "6 taps in all" in section
    assert re.search(r'data-reaction="clap">.*?<strong>4</strong>', section)


def test_a_mute_stops_taps_at_once_although_the_room_is_cached(app, live, volatile):
    a = register(live)
    tap(a.reg, "clap")  # the room's standing is read and cached now
    moderation.set_muted(live, a.reg.lead_id, muted=True, actor=live.owner)
    tap(a.reg, "love")  # refused: the mute cleared this webinar's cached standing
    push.tick(app)
    assert burst_counts(volatile.to(room_channel(live.webinar_id))[0]) == {"clap": 1}


def test_a_storm_of_taps_reads_the_room_once(app, live, volatile):
    sockets = [room_socket(register(live).reg, f"c{i}") for i in range(20)]
    statements: list[str] = []

    def seen(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        for i in range(100):
            reactions.on_react(sockets[i % 20], {"type": "react", "reaction": "clap"})
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert 1 <= len(statements) <= 2  # the webinar's status and its barred/muted registrations
    push.tick(app)
    assert sum(burst_counts(volatile.to(room_channel(live.webinar_id))[0]).values()) == 100
