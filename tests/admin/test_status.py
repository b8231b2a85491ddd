"""Publish / unpublish / start / pause / stop / archive buttons go through Core; refusals
are shown with Core's reasons and change nothing."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from portal.core.models import OutboxEvent
from portal.extensions import db
from portal.registration.service import register


def _events() -> int:
    return db.session.scalar(
        select(func.count()).select_from(OutboxEvent).where(OutboxEvent.event == "webinar_status_changed"))


def test_publish_refused_lists_what_is_missing(as_user, staff, make):
    webinar = make.webinar(owner=staff.owner, stream_url="", scheduled_at=None)
    session = as_user(staff.owner)
    page = session.get(f"/admin/webinars/{webinar.webinar_id}").get_data(as_text=True)
    assert "Before publishing, add:" in page and "a stream (type and URL)" in page
    before = _events()
    response = session.post(f"/admin/webinars/{webinar.webinar_id}/status", {"operation": "publish"},
                            htmx=True, target="status-panel")
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<section id="status-panel"')
    assert 'data-testid="status-error"' in html
    assert "cannot be published yet" in html
    assert "a start time in the future" in html and "a stream (type and URL)" in html
    db.session.expire_all()
    assert webinar.status == "draft" and _events() == before


def test_publish_refusal_without_htmx_renders_the_page(as_user, staff, make):
    webinar = make.webinar(owner=staff.owner, stream_url="")
    response = as_user(staff.owner).post(f"/admin/webinars/{webinar.webinar_id}/status", {"operation": "publish"})
    assert response.status_code == 409
    assert "cannot be published yet" in response.get_data(as_text=True)


def test_publish_then_unpublish_with_htmx(as_user, staff, make):
    webinar = make.webinar(owner=staff.owner)
    session = as_user(staff.owner)
    published = session.post(f"/admin/webinars/{webinar.webinar_id}/status", {"operation": "publish"},
                             htmx=True, target="status-panel")
    assert published.status_code == 200 and 'data-status="scheduled"' in published.get_data(as_text=True)
    assert 'data-testid="webinar-unpublish"' in published.get_data(as_text=True)
    db.session.expire_all()
    assert webinar.status == "scheduled"
    event = db.session.scalar(select(OutboxEvent).where(OutboxEvent.event == "webinar_status_changed")
                              .order_by(OutboxEvent.id.desc()))
    assert event.data["actor"] == {"type": "user", "user_id": staff.owner.user_id, "role": "organizer"}
    session.post(f"/admin/webinars/{webinar.webinar_id}/status", {"operation": "unpublish"})
    db.session.expire_all()
    assert webinar.status == "draft"


def test_unpublish_refused_when_people_registered(as_user, staff, make):
    webinar = make.webinar(owner=staff.owner, status="scheduled")
    register(webinar, name="Lena", email="lena@example.test")
    response = as_user(staff.owner).post(f"/admin/webinars/{webinar.webinar_id}/status", {"operation": "unpublish"},
                                         htmx=True, target="status-panel")
    assert response.status_code == 409 and "has registrations" in response.get_data(as_text=True)
    db.session.expire_all()
    assert webinar.status == "scheduled"


@pytest.mark.parametrize("start,operation,end", [
    ("scheduled", "start", "live"),
    ("live", "pause", "paused"),
    ("paused", "start", "live"),
    ("live", "stop", "finished"),
    ("finished", "archive", "archived"),
])
def test_operations_reach_core(as_user, staff, make, start, operation, end):
    webinar = make.webinar(owner=staff.owner, status=start)
    response = as_user(staff.admin).post(f"/admin/webinars/{webinar.webinar_id}/status", {"operation": operation})
    assert response.status_code == 303
    db.session.expire_all()
    assert webinar.status == end


@pytest.mark.parametrize("start,operation", [("draft", "archive"), ("draft", "pause"), ("finished", "publish")])
def test_illegal_operations_refused(as_user, staff, make, start, operation):
    webinar = make.webinar(owner=staff.owner, status=start)
    response = as_user(staff.owner).post(f"/admin/webinars/{webinar.webinar_id}/status", {"operation": operation},
                                         htmx=True, target="status-panel")
    assert response.status_code == 409
    assert f"Cannot {operation} a webinar that is {start}" in response.get_data(as_text=True)
    db.session.expire_all()
    assert webinar.status == start


def test_unknown_operation(as_user, staff, make):
    webinar = make.webinar(owner=staff.owner)
    response = as_user(staff.owner).post(f"/admin/webinars/{webinar.webinar_id}/status", {"operation": "explode"})
    assert response.status_code == 422


def test_panel_offers_only_possible_operations(as_user, staff, make):
    webinar = make.webinar(owner=staff.owner, status="live")
    html = as_user(staff.owner).get(f"/admin/webinars/{webinar.webinar_id}").get_data(as_text=True)
    assert 'data-testid="webinar-pause"' in html and 'data-testid="webinar-stop"' in html
    assert 'data-testid="webinar-publish"' not in html and 'data-testid="webinar-archive"' not in html
