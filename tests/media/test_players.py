"""Stream types: pasted YouTube / Vimeo links become embed URLs, anything else is refused;
the room frames exactly the embed's origin and nothing on other pages."""
from __future__ import annotations

import pytest

from portal.errors import Invalid
from portal.media import players

ACCEPTED = [
    ("youtube", "https://www.youtube.com/watch?v=dQw4w9WgXcQ", "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ"),
    ("youtube", "youtu.be/dQw4w9WgXcQ", "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ"),
    ("youtube", "https://youtube.com/live/dQw4w9WgXcQ?feature=share", "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ"),
    ("youtube", "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ", "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ"),
    ("vimeo", "https://vimeo.com/76979871", "https://player.vimeo.com/video/76979871"),
    ("vimeo", "https://player.vimeo.com/video/76979871", "https://player.vimeo.com/video/76979871"),
    ("vimeo", "https://vimeo.com/event/12345", "https://vimeo.com/event/12345/embed"),
]
REFUSED = [
    ("youtube", "javascript:alert(1)"),
    ("youtube", "https://evil.example/watch?v=dQw4w9WgXcQ"),
    ("youtube", "https://youtube.com.evil.example/watch?v=dQw4w9WgXcQ"),
    ("youtube", "https://user:pw@www.youtube.com/watch?v=dQw4w9WgXcQ"),
    ("youtube", "https://www.youtube.com/watch?v=short"),
    ("youtube", "https://www.youtube.com/watch?v=dQw4w9WgXcQ\"onload=\"x"),
    ("youtube", "//www.youtube.com/watch?v=dQw4w9WgXcQ"),
    ("youtube", "https://www.youtube.com:8443/watch?v=dQw4w9WgXcQ"),
    ("vimeo", "https://vimeo.com/channels/staffpicks"),
    ("vimeo", "https://vimeo.com.evil.example/76979871"),
    ("vimeo", "data:text/html,<script>alert(1)</script>"),
    ("vimeo", "https://www.youtube.com/watch?v=dQw4w9WgXcQ"),
    ("obs", "https://www.youtube.com/watch?v=dQw4w9WgXcQ"),
]


@pytest.mark.parametrize("kind,pasted,embed", ACCEPTED)
def test_pasted_links_become_embed_urls(kind, pasted, embed):
    assert players.embed_url(kind, pasted) == embed


@pytest.mark.parametrize("kind,pasted", REFUSED)
def test_other_hosts_and_forged_links_are_refused(kind, pasted):
    with pytest.raises(Invalid):
        players.embed_url(kind, pasted)


def _room(make, attendee, client, **fields):
    webinar = make.webinar(status="live", **fields)
    guest = attendee(webinar)
    return client.get(guest.url)


def test_youtube_room_frames_only_its_player(make, attendee, client):
    response = _room(make, attendee, client, stream_type="youtube",
                     stream_url="https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ")
    html = response.get_data(as_text=True)
    assert 'data-stream-type="youtube"' in html
    assert 'src="https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ"' in html
    policy = response.headers["Content-Security-Policy"]
    assert "frame-src https://www.youtube-nocookie.com;" in policy
    assert "vimeo" not in policy
    assert 'data-testid="chat-form"' in html  # the chat stays in the portal


def test_vimeo_room_frames_only_vimeo(make, attendee, client):
    response = _room(make, attendee, client, stream_type="vimeo", stream_url="https://player.vimeo.com/video/76979871")
    policy = response.headers["Content-Security-Policy"]
    assert "frame-src https://player.vimeo.com;" in policy and "youtube" not in policy


def test_a_stored_url_of_another_host_is_never_framed(make, attendee, client):
    """Defence in depth: even a row written around the form frames nothing foreign."""
    response = _room(make, attendee, client, stream_type="youtube", stream_url="https://evil.example/embed/x")
    assert "frame-src 'none'" in response.headers["Content-Security-Policy"]


def test_pages_without_an_embed_frame_nothing(make, attendee, client):
    response = _room(make, attendee, client)  # obs / HLS
    assert "frame-src 'none'" in response.headers["Content-Security-Policy"]
    assert "frame-src 'none'" in client.get("/").headers["Content-Security-Policy"]


def test_organizer_form_stores_the_embed_url(as_user, make):
    from datetime import timedelta

    from portal.db_types import utcnow
    from tests.admin.test_webinar_form import live_form

    owner = make.user(role="organizer")
    webinar = make.webinar(owner=owner)
    form = live_form(title="Tube", slug=webinar.slug, stream_type="youtube",
                     stream_url="https://youtu.be/dQw4w9WgXcQ",
                     scheduled_at=(utcnow() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M"), timezone="UTC")
    response = as_user(owner).post(f"/admin/webinars/{webinar.webinar_id}/edit", form)
    assert response.status_code == 303, response.get_data(as_text=True)[:300]
    from portal.extensions import db
    db.session.refresh(webinar)
    assert (webinar.stream_type, webinar.stream_url) == ("youtube", "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ")
