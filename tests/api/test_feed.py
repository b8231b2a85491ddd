"""GET /api/v1/events?after=: envelopes in commit order, scoped to the user's webinars, paged
by `sequence` so a receiver that missed webhooks catches up with nothing lost or doubled."""
from __future__ import annotations

from portal.core import events
from portal.extensions import db
from tests.api.conftest import issue


def _emit(webinar, n: int) -> None:
    for _ in range(n):
        events.emit("webinar_completed", webinar_id=webinar.webinar_id, data={"type": webinar.type})
        db.session.commit()


def test_pages_through_every_event_once_in_sequence_order(app, make, api):
    owner = make.user()
    webinar = make.webinar(owner=owner, status="live")  # its status events are in the feed too
    _emit(webinar, 7)
    token = issue(owner)
    got, after = [], 0
    while True:
        page = api("GET", "/api/v1/events", token, query_string={"after": after, "limit": 3}).json
        got += page["data"]
        after = page["next_after"]
        if not page["has_more"]:
            break
    sequences = [e["sequence"] for e in got]
    assert sequences == sorted(sequences) and len(set(sequences)) == len(sequences)
    assert [e["event"] for e in got].count("webinar_completed") == 7
    assert {"event", "event_id", "sequence", "occurred_at", "webinar_id", "data"} <= set(got[0])
    again = api("GET", "/api/v1/events", token, query_string={"after": after}).json
    assert again == {"data": [], "next_after": after, "has_more": False}


def test_only_the_user_s_webinars_and_a_filter_that_checks_ownership(app, make, api):
    owner = make.user()
    mine, theirs = make.webinar(owner=owner), make.webinar()
    _emit(mine, 2)
    _emit(theirs, 3)
    token = issue(owner)
    feed = api("GET", "/api/v1/events", token).json["data"]
    assert {e["webinar_id"] for e in feed} == {mine.webinar_id} and len(feed) == 2
    assert api("GET", "/api/v1/events", token, query_string={"webinar_id": theirs.webinar_id}).status_code == 403
    admin_feed = api("GET", "/api/v1/events", issue(make.user(role="admin"))).json["data"]
    assert len(admin_feed) == 5


def test_bad_feed_parameters_are_422_problems(app, make, api):
    token = issue(make.user())
    for query in ({"after": -1}, {"after": "x"}, {"limit": 0}, {"limit": 101}, {"webinar_id": 0}):
        answer = api("GET", "/api/v1/events", token, query_string=query)
        assert answer.status_code == 422 and answer.mimetype == "application/problem+json", query


def test_the_feed_has_what_the_status_hook_emitted(app, make, api):
    owner = make.user()
    webinar = make.webinar(owner=owner, status="scheduled")
    token = issue(owner, scopes="read,control")
    after = api("GET", "/api/v1/events", token).json["next_after"]
    api("POST", f"/api/v1/webinars/{webinar.webinar_id}/status", token, json={"action": "start"})
    new = api("GET", "/api/v1/events", token, query_string={"after": after}).json["data"]
    assert [(e["event"], e["data"]["from"], e["data"]["to"]) for e in new] == [
        ("webinar_status_changed", "scheduled", "live")]
