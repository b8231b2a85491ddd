"""/api/v1/webinars…: the same permissions and answers as the console and the organizer pages,
the hooks through Core, cursor pagination, problem details for every bad input."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from portal.attendance.models import Attendance
from portal.core.models import OutboxEvent
from portal.db_types import utcnow
from portal.extensions import db
from tests.api.conftest import issue
from tests.realtime.conftest import make_registration


def _events() -> int:
    return db.session.scalar(select(func.count()).select_from(OutboxEvent))


def test_lists_only_the_webinars_whose_console_the_user_may_open(app, make, api):
    speaker, owner = make.user(role="speaker"), make.user()
    mine = make.webinar(owner=owner)
    speaking = make.webinar(speakers=(speaker,))
    make.webinar()  # someone else's
    assert [w["id"] for w in api("GET", "/api/v1/webinars", issue(owner)).json["data"]] == [mine.webinar_id]
    assert [w["id"] for w in api("GET", "/api/v1/webinars", issue(speaker)).json["data"]] == [speaking.webinar_id]
    admin_sees = api("GET", "/api/v1/webinars", issue(make.user(role="admin"))).json["data"]
    assert len(admin_sees) == 3


def test_one_webinar_404_unknown_403_anothers(app, make, api):
    owner = make.user()
    mine, theirs = make.webinar(owner=owner), make.webinar()
    token = issue(owner)
    got = api("GET", f"/api/v1/webinars/{mine.webinar_id}", token)
    assert got.status_code == 200 and got.json["id"] == mine.webinar_id and got.json["status"] == "draft"
    missing = api("GET", "/api/v1/webinars/999999", token)
    assert missing.status_code == 404 and missing.mimetype == "application/problem+json"
    assert missing.json["code"] == "not_found" and missing.json["detail"] == "This webinar does not exist."
    other = api("GET", f"/api/v1/webinars/{theirs.webinar_id}", token)
    assert other.status_code == 403 and other.json["code"] == "forbidden"


def test_start_and_stop_through_core_with_the_console_s_answers(app, make, api):
    speaker = make.user(role="speaker")
    webinar = make.webinar(status="scheduled", speakers=(speaker,))
    token = issue(speaker, scopes="control")
    url = f"/api/v1/webinars/{webinar.webinar_id}/status"
    started = api("POST", url, token, json={"action": "start"})
    assert started.status_code == 200
    assert started.json["changed"] is True and (started.json["before"], started.json["after"]) == ("scheduled", "live")
    assert started.json["webinar"]["status"] == "live"
    emitted = _events()
    repeat = api("POST", url, token, json={"action": "start"})
    assert repeat.status_code == 200 and repeat.json["changed"] is False and _events() == emitted
    stopped = api("POST", url, token, json={"action": "stop"})
    assert stopped.json["after"] == "finished"
    illegal = api("POST", url, token, json={"action": "start"})
    assert illegal.status_code == 409 and illegal.mimetype == "application/problem+json"
    assert illegal.json["code"] == "conflict" and illegal.json["detail"]
    db.session.refresh(webinar)
    assert webinar.status == "finished"
    status_events = db.session.scalars(select(OutboxEvent).where(OutboxEvent.event == "webinar_status_changed")
                                       .order_by(OutboxEvent.sequence)).all()
    assert [e.data["to"] for e in status_events][-2:] == ["live", "finished"]
    assert status_events[-1].data["actor"]["user_id"] == speaker.user_id


def test_cta_through_core_and_another_owner_s_webinar_is_refused_unchanged(app, make, api):
    owner = make.user()
    mine, theirs = make.webinar(owner=owner, status="live"), make.webinar(status="live")
    token = issue(owner, scopes="control")
    shown = api("POST", f"/api/v1/webinars/{mine.webinar_id}/cta", token, json={"visibility": "visible"})
    assert shown.status_code == 200 and shown.json["webinar"]["cta_visibility"] == "visible"
    emitted = _events()
    refused = api("POST", f"/api/v1/webinars/{theirs.webinar_id}/cta", token, json={"visibility": "visible"})
    assert refused.status_code == 403
    stop = api("POST", f"/api/v1/webinars/{theirs.webinar_id}/status", token, json={"action": "stop"})
    assert stop.status_code == 403
    db.session.refresh(theirs)
    assert (theirs.status, theirs.cta_visibility) == ("live", "hidden") and _events() == emitted


@pytest.mark.parametrize(("body", "kwargs", "status", "code"), [
    (None, {"data": "{not json", "content_type": "application/json"}, 400, "invalid_json"),
    (None, {"data": "[1, 2]", "content_type": "application/json"}, 422, "invalid"),
    ({"action": "pause"}, {}, 422, "invalid"),
    ({"action": "start", "extra": 1}, {}, 422, "invalid"),
    ({}, {}, 422, "invalid"),
    (None, {"data": "action=start", "content_type": "application/x-www-form-urlencoded"}, 422, "invalid"),
])
def test_bad_bodies_are_problems_and_change_nothing(app, make, api, body, kwargs, status, code):
    owner = make.user()
    webinar = make.webinar(owner=owner, status="scheduled")
    emitted = _events()
    answer = api("POST", f"/api/v1/webinars/{webinar.webinar_id}/status", issue(owner),
                 **({"json": body} if body is not None else kwargs))
    assert answer.status_code == status and answer.mimetype == "application/problem+json"
    assert answer.json["code"] == code and answer.json["detail"]
    if code == "invalid":
        assert answer.json["errors"]
    db.session.refresh(webinar)
    assert webinar.status == "scheduled" and _events() == emitted


def test_a_huge_body_is_413(app, make, api):
    owner = make.user()
    webinar = make.webinar(owner=owner, status="scheduled")
    huge = '{"action": "start", "pad": "' + "x" * (app.config["MAX_CONTENT_LENGTH"] + 10) + '"}'
    answer = api("POST", f"/api/v1/webinars/{webinar.webinar_id}/status", issue(owner), data=huge,
                 content_type="application/json")
    assert answer.status_code == 413 and answer.json["code"] == "too_large"
    db.session.refresh(webinar)
    assert webinar.status == "scheduled"


def test_no_csrf_token_is_needed_with_a_bearer_and_none_helps_without(app, make, api, client, auth):
    owner = make.user(email="csrf@example.com")
    webinar = make.webinar(owner=owner, status="scheduled")
    url = f"/api/v1/webinars/{webinar.webinar_id}/status"
    auth.login("csrf@example.com")  # a session cookie is no credential for the API
    assert client.post(url, json={"action": "start"}).status_code == 401
    assert api("POST", url, issue(owner), json={"action": "start"}).status_code == 200


def test_registrations_and_attendance_page_with_signed_cursors(app, make, api):
    owner = make.user()
    webinar = make.webinar(owner=owner, status="live")
    regs = [make_registration(webinar)[0] for _ in range(5)]
    for reg in regs[:3]:
        db.session.add(Attendance(webinar_id=webinar.webinar_id, lead_id=reg.lead_id, session_id="s1",
                                  connection_id=f"c{reg.registration_id}", entered_at=utcnow()))
    db.session.commit()
    token = issue(owner)
    base = f"/api/v1/webinars/{webinar.webinar_id}/registrations"
    seen, cursor = [], None
    while True:
        page = api("GET", base, token, query_string={"limit": 2, **({"cursor": cursor} if cursor else {})}).json
        seen += [r["id"] for r in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [r.registration_id for r in regs]
    first = api("GET", base, token, query_string={"limit": 2}).json
    assert first["data"][0]["email"] == regs[0].lead.email
    attendance = api("GET", f"/api/v1/webinars/{webinar.webinar_id}/attendance", token).json
    assert [a["lead_id"] for a in attendance["data"]] == [r.lead_id for r in regs[:3]]
    assert attendance["next_cursor"] is None


@pytest.mark.parametrize("cursor", ["garbage", "eyJzIjoid2ViaW5hcnM6MSIsImsiOjB9.forged", "x" * 400])
def test_forged_cursors_are_400(app, make, api, cursor):
    owner = make.user()
    webinar = make.webinar(owner=owner)
    answer = api("GET", f"/api/v1/webinars/{webinar.webinar_id}/registrations", issue(owner),
                 query_string={"cursor": cursor})
    assert answer.status_code == 400 and answer.json["code"] == "invalid_cursor"


def test_a_cursor_of_another_list_is_refused(app, make, api):
    owner = make.user()
    first, second = make.webinar(owner=owner), make.webinar(owner=owner)
    for _ in range(3):
        make_registration(first)
    token = issue(owner)
    cursor = api("GET", f"/api/v1/webinars/{first.webinar_id}/registrations", token,
                 query_string={"limit": 1}).json["next_cursor"]
    assert cursor
    borrowed = api("GET", f"/api/v1/webinars/{second.webinar_id}/registrations", token, query_string={"cursor": cursor})
    assert borrowed.status_code == 400
    other_user = api("GET", "/api/v1/webinars", issue(make.user()), query_string={"cursor": cursor})
    assert other_user.status_code == 400


def test_reports_need_the_owner_a_speaker_gets_403(app, make, api):
    speaker = make.user(role="speaker")
    webinar = make.webinar(speakers=(speaker,))
    make_registration(webinar)
    answer = api("GET", f"/api/v1/webinars/{webinar.webinar_id}/registrations", issue(speaker))
    assert answer.status_code == 403


def test_unknown_api_urls_and_methods_are_problems(app, make, api):
    token = issue(make.user())
    assert api("GET", "/api/v1/nothing-here", token).mimetype == "application/problem+json"
    wrong = api("DELETE", "/api/v1/webinars", token)
    assert wrong.status_code == 405 and wrong.mimetype == "application/problem+json"


def test_registration_representation_has_state_and_answers(app, make, api):
    """Issue 12: the approval state and the registration questions' answers are in the API."""
    from portal.registration.service import register

    owner = make.user()
    webinar = make.webinar(owner=owner, status="scheduled", requires_approval=True)
    register(webinar, name="Ann", email="ann@example.com", answers={"7": "Acme"})
    (row,) = api("GET", f"/api/v1/webinars/{webinar.webinar_id}/registrations", issue(owner)).json["data"]
    assert (row["state"], row["answers"], row["cancelled_at"]) == ("pending", {"7": "Acme"}, None)
