"""The CSP is strict everywhere and widened only by the media a room page plays; admin pages
with personal data are never stored by a browser or a proxy."""
from __future__ import annotations

import pytest

from portal import csp
from portal.extensions import db
from tests.room.conftest import register


def directives(response) -> dict[str, list[str]]:
    policy = response.headers["Content-Security-Policy"]
    return {d.split()[0]: d.split()[1:] for d in policy.split("; ")}


def test_the_policy_has_no_blanket_https_no_plugins_and_no_base(client):
    policy = directives(client.get("/"))
    assert policy["object-src"] == ["'none'"] and policy["base-uri"] == ["'none'"]
    assert policy["frame-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]
    assert policy["script-src"] == ["'self'"] and policy["style-src"] == ["'self'"]
    assert not any("https:" in sources or "http:" in sources or "*" in sources for sources in policy.values())
    assert policy["connect-src"] == ["'self'", "ws://localhost"]


def test_a_room_page_allows_its_own_stream_origin_only(client, make):
    webinar = make.webinar(status="live")
    webinar.stream_url = "https://cdn.example.net:8443/live/stream.m3u8"
    webinar.recording_url = "/static/demo/recording.mp4"  # same origin: nothing to add
    db.session.commit()
    policy = directives(client.get(register(webinar).url))
    assert policy["media-src"] == ["'self'", "blob:", "https://cdn.example.net:8443"]
    assert policy["connect-src"] == ["'self'", "ws://localhost", "https://cdn.example.net:8443"]
    # The next page is strict again.
    assert "https://cdn.example.net:8443" not in client.get("/").headers["Content-Security-Policy"]


@pytest.mark.parametrize("url, origin", [
    ("https://cdn.example.net/a.m3u8", "https://cdn.example.net"),
    ("http://10.0.0.5:8080/hls/x.m3u8", "http://10.0.0.5:8080"),
    ("/static/demo/x.mp4", None),
    ("javascript:alert(1)", None),
    ("https://evil.example; script-src *", None),
    ("https://a.example'/x", None),
    ("", None),
    (None, None),
])
def test_only_real_http_origins_reach_the_policy(url, origin):
    assert csp.origin_of(url) == origin


def test_admin_pages_with_personal_data_are_no_store(client, auth, make):
    admin = make.user(role="admin")
    webinar = make.webinar(status="live")
    auth.login(admin.email)
    base = f"/admin/webinars/{webinar.webinar_id}"
    for url in (base + "/registrations", base + "/registrations.csv", base + "/attendance", base + "/analytics",
                base + "/audit", "/admin/users"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.headers["Cache-Control"] == "no-store", url
    assert "no-store" not in client.get("/").headers.get("Cache-Control", "")
