"""Refused heartbeats write nothing: forged positions, someone else's session or webinar, after stop."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal.attendance.models import Attendance
from portal.autowebinar import heartbeats
from portal.core import lifecycle
from portal.core.models import OutboxEvent, UserMeta
from portal.core.permissions import SYSTEM
from portal.extensions import db
from tests.autowebinar.conftest import raw_meta


def snapshot() -> tuple:
    """Everything a heartbeat could write: user_meta, attendance and the outbox."""
    db.session.expire_all()
    metas = sorted(db.session.execute(select(UserMeta.user_id, UserMeta.meta_key, UserMeta.meta_value)).all())
    columns = (Attendance.attendance_id, Attendance.left_at, Attendance.completed_at)
    rows = sorted(db.session.execute(select(*columns)).all())
    events = db.session.scalar(select(func.count()).select_from(OutboxEvent))
    return metas, rows, events


@pytest.fixture
def watching(clock, auto_webinar, attendee):
    """An attendee 20 s into a watch-now session, everything flushed."""
    webinar = auto_webinar()
    a = attendee(webinar)
    assert a.beat(0).status_code == 200
    clock.advance(20)
    assert a.beat(20).status_code == 200
    heartbeats.flush()
    return a


@pytest.mark.parametrize("position, reason", [
    (40, "ahead_of_live"),  # the live point is 20 (+5 s tolerance)
    (26, "ahead_of_live"),
    (95, "past_end"),
    (1e9, "past_end"),
    (-1, "negative"),
    (-0.5, "negative"),
])
def test_forged_positions_are_refused(watching, position, reason):
    before = snapshot()
    response = watching.beat(position)
    assert response.status_code == 422
    assert response.json["error"]["details"]["reason"] == reason
    heartbeats.flush()
    assert snapshot() == before


@pytest.mark.parametrize("position", ["12", "NaN", None, True, [12], {"s": 12}, ""])
def test_non_numbers_are_refused(watching, position):
    before = snapshot()
    response = watching.beat(position)
    assert response.status_code == 422 and response.json["error"]["details"]["field"] == "position"
    heartbeats.flush()
    assert snapshot() == before


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_literals_are_refused(watching, literal):
    before = snapshot()
    body = '{"position": ' + literal + ', "page_id": "page-0001"}'
    response = watching.client.post(watching.url, data=body, content_type="application/json",
                                    headers={"X-CSRFToken": watching.csrf, "Accept": "application/json"})
    assert response.status_code == 422
    heartbeats.flush()
    assert snapshot() == before


@pytest.mark.parametrize("position", ["NaN", "inf", "1e3", "abc", "-"])
def test_beacon_form_values_that_are_not_numbers_are_refused(watching, position):
    before = snapshot()
    assert watching.beacon(position).status_code == 422
    heartbeats.flush()
    assert snapshot() == before


def test_a_heartbeat_for_another_attendees_session_is_refused(clock, watching, attendee):
    other = attendee(watching.reg.webinar)
    assert other.beat(0).status_code == 200
    heartbeats.flush()
    victim_session = raw_meta(watching.reg.lead_id)[f"autowebinar_session_id:{watching.reg.webinar_id}"]
    before = snapshot()
    forged = other.beat(0, session_id=victim_session)
    assert forged.status_code == 403 and forged.json["error"]["details"]["reason"] == "other_session"
    assert other.beacon(0, session_id=victim_session).status_code == 403
    heartbeats.flush()
    assert snapshot() == before


def test_a_brand_new_viewer_cannot_claim_an_existing_session(watching, attendee):
    newcomer = attendee(watching.reg.webinar)
    victim_session = raw_meta(watching.reg.lead_id)[f"autowebinar_session_id:{watching.reg.webinar_id}"]
    before = snapshot()
    assert newcomer.beat(0, session_id=victim_session).status_code == 403
    heartbeats.flush()
    assert snapshot() == before


def test_a_heartbeat_for_another_webinar_is_refused(watching, auto_webinar, attendee):
    elsewhere = auto_webinar()
    attendee(elsewhere, email=watching.reg.lead.email)  # same lead, other webinar
    before = snapshot()
    response = watching.beat(5, webinar_id=elsewhere.webinar_id)
    assert response.status_code == 403 and response.json["error"]["details"]["reason"] == "other_webinar"
    heartbeats.flush()
    assert snapshot() == before


def test_a_token_only_reaches_its_own_registration(watching, client):
    before = snapshot()
    response = watching.client.post("/room/not-a-real-token/heartbeat", json={"position": 1, "page_id": "page-0001"},
                                    headers={"X-CSRFToken": watching.csrf, "Accept": "application/json"})
    assert response.status_code == 404
    assert snapshot() == before


def test_a_heartbeat_after_stop_is_refused_and_writes_nothing(clock, watching):
    lifecycle.core_webinar_set_status(watching.reg.webinar, "stop", actor=SYSTEM)
    before = snapshot()
    clock.advance(5)
    response = watching.beat(25)
    assert response.status_code == 409 and response.json["error"]["details"]["status"] == "finished"
    assert watching.beacon(25).status_code == 409
    heartbeats.flush()
    assert snapshot() == before


def test_a_position_heard_after_stop_by_another_process_is_not_written(clock, watching):
    """The flusher re-reads the status in its own transaction and writes only positions heard
    before finished_at; here one heard 2 s after the stop is queued by hand, as a process whose
    cached status was still "live" would have done."""
    lifecycle.core_webinar_set_status(watching.reg.webinar, "stop", actor=SYSTEM)
    before = snapshot()
    reg = watching.reg
    viewer = heartbeats.current().cache.viewer(reg.lead_id, reg.webinar_id)
    heard_at = reg.webinar.finished_at + timedelta(seconds=2)
    heartbeats.current().coalescer.put(heartbeats.Pending(reg.lead_id, reg.webinar_id, reg.registration_id,
                                                viewer.session_id, 22, heard_at))
    assert heartbeats.flush() == 0
    assert snapshot() == before


def test_requests_without_a_csrf_token_are_refused(watching):
    before = snapshot()
    no_csrf = watching.client.post(watching.url, json={"position": 20, "page_id": "page-0001"},
                                   headers={"Accept": "application/json"})
    assert no_csrf.status_code == 400
    beacon_without_token = watching.client.post(watching.url, data={"position": "20", "page_id": "page-0001",
                                                                   "leave": "1"})
    assert beacon_without_token.status_code == 400
    heartbeats.flush()
    assert snapshot() == before


@pytest.mark.parametrize("page_id", [None, "", "short", "x" * 41, "../etc", "a b c d e f g"])
def test_malformed_page_ids_are_refused(watching, page_id):
    before = snapshot()
    body = {"position": 20, "page_id": page_id}
    response = watching.client.post(watching.url, data=json.dumps(body), content_type="application/json",
                                    headers={"X-CSRFToken": watching.csrf, "Accept": "application/json"})
    assert response.status_code == 422
    heartbeats.flush()
    assert snapshot() == before
