"""GET /room/<token>: the same 404 for every bad link, and each state of the room."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest

from portal.core import lifecycle
from portal.core.permissions import SYSTEM
from portal.db_types import utcnow
from portal.extensions import db
from tests.room.conftest import register


def _body_without_csrf(html: str) -> str:
    return re.sub(r'(value|"X-CSRFToken": )"[^"]+"', "", html)


def test_bad_links_all_get_the_same_404(client, make):
    w = make.webinar(status="scheduled")
    revoked, banned, good = register(w), register(w), register(w)
    revoked.reg.revoked_at = utcnow()
    banned.reg.banned_at = utcnow()
    db.session.commit()
    answers = [client.get(url) for url in (
        "/room/not-a-real-token",
        "/room/" + "x" * 300,
        revoked.url,
        banned.url,
        "/room/" + good.token[:-1] + ("A" if good.token[-1] != "A" else "B"),
    )]
    assert {r.status_code for r in answers} == {404}
    bodies = {_body_without_csrf(r.get_data(as_text=True)) for r in answers}
    assert len(bodies) == 1, "every refusal must look the same"
    assert client.get(good.url).status_code == 200


def test_a_token_opens_its_own_webinar_only(client, make):
    a, b = make.webinar(status="scheduled", title="Alpha"), make.webinar(status="scheduled", title="Bravo")
    ticket = register(a)
    html = client.get(ticket.url).get_data(as_text=True)
    assert "Alpha" in html and "Bravo" not in html
    # The chat and CTA actions of that token act on its webinar only; another's id in the
    # path is just an unknown token.
    assert client.post(f"/room/{b.webinar_id}/chat", data={"body": "hi"}).status_code in (400, 404)


def test_waiting_room_shows_countdown_and_no_player(client, make):
    w = make.webinar(status="scheduled", scheduled_at=utcnow() + timedelta(hours=2), chat_lobby_minutes=15)
    a = register(w)
    page = client.get(a.url)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'data-testid="room-status"' in html and 'data-status="scheduled"' in html
    assert "data-countdown=" in html
    assert 'data-testid="player"' not in html
    # The lobby opens 15 minutes before the start: the form is there but not yet usable.
    assert re.search(r'<form id="chat-form"[^>]*hidden', html)
    assert "data-chat-opens-at" in html
    assert page.headers["Cache-Control"] == "no-store"


def test_lobby_chat_is_open_shortly_before_the_start(client, make):
    w = make.webinar(status="scheduled", scheduled_at=utcnow() + timedelta(minutes=5), chat_lobby_minutes=15)
    html = client.get(register(w).url).get_data(as_text=True)
    assert re.search(r'<form id="chat-form"[^>]*data-testid="chat-form"', html)
    assert not re.search(r'<form id="chat-form"[^>]*hidden', html)


def test_live_obs_room_has_hls_player_chat_and_count(client, make):
    w = make.webinar(status="scheduled", stream_url="/static/demo/hls/index.m3u8")
    a = register(w)
    lifecycle.core_webinar_set_status(w, "start", actor=SYSTEM)
    html = client.get(a.url).get_data(as_text=True)
    assert 'data-status="live"' in html
    assert 'data-testid="player"' in html and 'data-hls-src="/static/demo/hls/index.m3u8"' in html
    assert "hls.min.js" in html
    assert 'data-testid="chat-messages"' in html and 'data-testid="chat-form"' in html
    assert 'data-testid="attendee-count"' in html
    assert 'data-testid="cta"' not in html
    assert 'ws-connect="/ws/room/' in html


def test_hidden_attendee_count(client, make):
    w = make.webinar(status="live", show_attendee_count=False)
    html = client.get(register(w).url).get_data(as_text=True)
    assert 'data-testid="attendee-count"' not in html


@pytest.mark.parametrize("stream_type,label", [("zoom", "Join on Zoom"), ("telegram", "Open the Telegram channel")])
def test_external_streams_link_out_and_keep_no_chat(client, make, stream_type, label):
    w = make.webinar(status="scheduled", stream_type=stream_type, stream_url="https://example.com/j/1",
                     external_chat_ref="https://t.me/example_chat")
    a = register(w)
    lifecycle.core_webinar_set_status(w, "start", actor=SYSTEM)
    html = client.get(a.url).get_data(as_text=True)
    assert label in html and 'href="https://example.com/j/1"' in html
    assert 'data-testid="chat-form"' not in html and 'data-testid="chat-messages"' not in html
    assert 'href="https://t.me/example_chat"' in html
    assert "hls.min.js" not in html


def test_script_links_are_never_rendered(client, make):
    w = make.webinar(status="scheduled", stream_type="zoom", stream_url="javascript:alert(1)",
                     external_chat_ref="data:text/html,<script>alert(1)</script>")
    a = register(w)
    lifecycle.core_webinar_set_status(w, "start", actor=SYSTEM)
    html = client.get(a.url).get_data(as_text=True)
    assert "javascript:" not in html and "data:text" not in html
    assert 'data-testid="player"' in html


def test_cta_banner_posts_to_the_click_route(client, make):
    w = make.webinar(status="live")
    a = register(w)
    lifecycle.core_webinar_set_cta_visibility(w, "visible", actor=SYSTEM)
    html = client.get(a.url).get_data(as_text=True)
    assert 'data-testid="cta"' in html
    assert f'action="/room/{a.token}/cta"' in html and "Buy now" in html


def test_paused_and_ended_screens(client, make):
    w = make.webinar(status="live")
    a = register(w)
    lifecycle.pause(w, actor=SYSTEM)
    html = client.get(a.url).get_data(as_text=True)
    assert 'data-status="paused"' in html and "Short break" in html and 'data-testid="player"' not in html
    lifecycle.core_webinar_set_status(w, "stop", actor=SYSTEM)
    html = client.get(a.url).get_data(as_text=True)
    assert 'data-status="finished"' in html and "This webinar has ended" in html
    assert "The chat is closed." in html


def test_russian_room(client, make):
    w = make.webinar(status="scheduled")
    html = client.get(register(w).url, headers={"Accept-Language": "ru"}).get_data(as_text=True)
    assert '<html lang="ru">' in html


def test_auto_room_includes_the_autowebinar_player(client, make, pushes):
    from portal.room.channels import room_channel

    w = make.webinar(type="auto", status="live")
    a = register(w)
    html = client.get(a.url).get_data(as_text=True)
    assert 'id="aw-player"' in html and 'id="room-stage"' not in html
    assert 'id="room-cta"' in html and 'data-testid="attendee-count"' not in html
    lifecycle.core_webinar_set_cta_visibility(w, "visible", actor=SYSTEM)
    push = pushes.to(room_channel(w.webinar_id))[-1]
    # Core's visibility goes to every auto room; autowebinar.js adds the viewer's timing.
    assert 'data-testid="cta"' in push and 'id="room-stage"' not in push
