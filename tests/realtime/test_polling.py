"""Polling fallback: the snapshot with an ETag, a 304 that touches no database, bans respected."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event

from portal import realtime
from portal.db_types import utcnow
from portal.extensions import db
from portal.room.channels import console_channel, room_channel
from tests.realtime.conftest import SNAPSHOT_ID, make_registration


@contextmanager
def count_queries() -> Iterator[list[str]]:
    statements: list[str] = []

    def record(conn, cursor, statement, *args):  # noqa: ANN001
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def get_state(client, url: str, etag: str | None = None):
    headers = {"HX-Request": "true"}
    if etag:
        headers["If-None-Match"] = etag
    return client.get(url, headers=headers)


def test_state_answers_the_snapshot_since_the_given_id_with_an_etag(client, live_webinar, room_calls):
    _, token = make_registration(live_webinar)
    response = get_state(client, f"/room/{token}/state?since=12")
    assert response.status_code == 200
    assert SNAPSHOT_ID in response.get_data(as_text=True)
    assert room_calls.snapshots == [("Registration", live_webinar.webinar_id, 12, "room")]
    assert response.headers["ETag"].startswith(f'"r{live_webinar.webinar_id}-')
    assert response.headers["Cache-Control"] == "no-cache, private"


def test_unchanged_state_is_a_304_without_any_database_query(client, live_webinar, room_calls):
    _, token = make_registration(live_webinar)
    etag = get_state(client, f"/room/{token}/state?since=0").headers["ETag"]
    with count_queries() as statements:
        response = get_state(client, f"/room/{token}/state?since=0", etag)
    assert response.status_code == 304 and response.data == b""
    assert response.headers["ETag"] == etag
    assert statements == []
    assert len(room_calls.snapshots) == 1


def test_any_publish_on_the_room_makes_the_next_poll_fresh(client, live_webinar, room_calls):
    _, token = make_registration(live_webinar)
    etag = get_state(client, f"/room/{token}/state").headers["ETag"]
    realtime.publish(room_channel(live_webinar.webinar_id), '<p id="x"></p>')
    fresh = get_state(client, f"/room/{token}/state?since=3", etag)
    assert fresh.status_code == 200 and fresh.headers["ETag"] != etag
    assert get_state(client, f"/room/{token}/state?since=3", fresh.headers["ETag"]).status_code == 304


def test_a_publish_elsewhere_keeps_the_304(client, live_webinar, make, room_calls):
    _, token = make_registration(live_webinar)
    etag = get_state(client, f"/room/{token}/state").headers["ETag"]
    realtime.publish(console_channel(live_webinar.webinar_id), "<p></p>")
    realtime.publish(room_channel(live_webinar.webinar_id + 1), "<p></p>")
    assert get_state(client, f"/room/{token}/state", etag).status_code == 304


def test_an_etag_is_bound_to_its_token(client, live_webinar, room_calls):
    _, mine = make_registration(live_webinar)
    _, theirs = make_registration(live_webinar)
    etag = get_state(client, f"/room/{mine}/state").headers["ETag"]
    assert get_state(client, f"/room/{theirs}/state", etag).status_code == 200
    assert get_state(client, "/room/not-a-token/state", etag).status_code == 404


def test_an_etag_is_bound_to_the_secret_key(app, client, live_webinar, room_calls):
    """A new SECRET_KEY: every ETag made under the old one goes through the full check."""
    _, token = make_registration(live_webinar)
    etag = get_state(client, f"/room/{token}/state").headers["ETag"]
    assert get_state(client, f"/room/{token}/state", etag).status_code == 304
    app.config["SECRET_KEY"] = "another-secret-key-of-at-least-32-bytes"
    fresh = get_state(client, f"/room/{token}/state", etag)
    assert fresh.status_code == 200 and fresh.headers["ETag"] != etag
    assert get_state(client, f"/room/{token}/state", fresh.headers["ETag"]).status_code == 304


@pytest.mark.parametrize("etag", ['"r1-abc.1-0000000000000000"', "*", "garbage", 'W/"c1-a.1-0123456789abcdef"'])
def test_forged_or_odd_etags_go_through_the_full_check(client, live_webinar, room_calls, etag):
    _, token = make_registration(live_webinar)
    assert get_state(client, f"/room/{token}/state", etag).status_code == 200
    assert get_state(client, "/room/not-a-token/state", etag).status_code == 404


def test_a_banned_token_gets_no_fresh_state_after_the_ban(client, live_webinar, room_calls):
    reg, token = make_registration(live_webinar)
    etag = get_state(client, f"/room/{token}/state").headers["ETag"]
    reg.banned_at = utcnow()
    db.session.commit()
    # The ban's disconnect moves the version: the old ETag no longer buys a 304 ...
    realtime.disconnect(room_channel(live_webinar.webinar_id), member=reg.lead_id, reason="banned")
    banned = get_state(client, f"/room/{token}/state", etag)
    # ... and the database says no, exactly as for an unknown token.
    assert banned.status_code == 404
    assert get_state(client, "/room/unknown-token/state").status_code == 404


def test_bad_since_values_mean_from_the_start(client, live_webinar, room_calls):
    _, token = make_registration(live_webinar)
    for since in ("-5", "abc", "1e9", "9" * 40, ""):
        assert get_state(client, f"/room/{token}/state?since={since}").status_code == 200
    assert {s[2] for s in room_calls.snapshots} == {0}


def test_console_state_needs_a_staff_member_and_has_its_own_etag(client, auth, live_webinar, make, room_calls):
    url = f"/console/{live_webinar.webinar_id}/state"
    assert get_state(client, url).status_code == 403
    auth.login(make.user(role="speaker").email)
    assert get_state(client, url).status_code == 403
    client.post("/logout", data={"csrf_token": auth.csrf()})
    auth.login(live_webinar.test_speaker.email)
    first = get_state(client, url + "?since=2")
    assert first.status_code == 200 and first.headers["ETag"].startswith('"c')
    assert room_calls.snapshots[-1] == ("User", live_webinar.webinar_id, 2, "console")
    assert get_state(client, url + "?since=2", first.headers["ETag"]).status_code == 304
    realtime.publish(console_channel(live_webinar.webinar_id), "<p></p>")
    assert get_state(client, url + "?since=2", first.headers["ETag"]).status_code == 200
    assert get_state(client, "/console/999999/state").status_code == 404
