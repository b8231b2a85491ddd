"""Issue 12 point 4: cancel a scheduled webinar with registrants, delete drafts, duplicate."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal.audit.models import AuditEntry
from portal.core import lifecycle
from portal.core.models import OutboxEvent, Webinar, WebinarSlot
from portal.core.permissions import SYSTEM
from portal.db_types import utcnow
from portal.errors import Conflict
from portal.extensions import db
from portal.mail.models import MailMessage
from portal.registration.models import Registration, RegistrationQuestion
from portal.registration.service import register


def _events(webinar_id: int, name: str) -> list[OutboxEvent]:
    return list(db.session.scalars(select(OutboxEvent).where(
        OutboxEvent.webinar_id == webinar_id, OutboxEvent.event == name).order_by(OutboxEvent.id)))


def _status(session, webinar, op: str):
    return session.post(f"/admin/webinars/{webinar.webinar_id}/status", {"operation": op},
                        htmx=True, target="status-panel")


def test_cancel_with_registrants_tells_everyone_and_runs_nothing(as_user, staff, make):
    webinar = make.webinar(owner=staff.owner, status="scheduled", scheduled_at=utcnow() + timedelta(days=2))
    for n in range(2):
        register(webinar, name=f"Ann {n}", email=f"ann{n}@example.com")
    reminders_before = db.session.scalar(select(func.count()).select_from(MailMessage).where(
        MailMessage.webinar_id == webinar.webinar_id, MailMessage.kind == "remind_1h"))
    session = as_user(staff.owner)
    page = session.get(f"/admin/webinars/{webinar.webinar_id}").get_data(as_text=True)
    assert 'data-testid="webinar-cancel"' in page and "every registrant is emailed" in page

    response = _status(session, webinar, "cancel")

    assert response.status_code == 200, response.get_data(as_text=True)[:400]
    db.session.expire_all()
    webinar = db.session.get(Webinar, webinar.webinar_id)
    assert webinar.status == "archived" and webinar.cancelled_at is not None
    assert webinar.calendar_sequence == 1
    (changed,) = [e for e in _events(webinar.webinar_id, "webinar_status_changed") if e.data["to"] == "archived"]
    assert changed.data["reason"] == "cancelled" and changed.data["from"] == "scheduled"
    assert _events(webinar.webinar_id, "webinar_completed") == []
    notices = db.session.scalars(select(MailMessage).where(
        MailMessage.webinar_id == webinar.webinar_id, MailMessage.kind == "cancelled")).all()
    assert sorted(m.recipient for m in notices) == ["ann0@example.com", "ann1@example.com"]
    assert reminders_before and not db.session.scalar(select(func.count()).select_from(MailMessage).where(
        MailMessage.webinar_id == webinar.webinar_id, MailMessage.kind == "remind_1h", MailMessage.status == "queued"))
    audit = db.session.scalars(select(AuditEntry).where(AuditEntry.webinar_id == webinar.webinar_id,
                                                        AuditEntry.kind == "status")).all()
    assert [a.action for a in audit][-1] == "cancel" and audit[-1].actor_user_id == staff.owner.user_id
    public = as_user(None).get(f"/w/{webinar.slug}").get_data(as_text=True)
    assert 'data-testid="registration-cancelled"' in public and 'data-testid="badge-cancelled"' in public
    assert 'data-testid="register-form"' not in public
    # The analytics/attendance pages show no run: nothing started, nothing finished.
    assert webinar.started_at is None and webinar.finished_at is None


@pytest.mark.parametrize("status", ["draft", "live", "paused", "finished"])
def test_cancel_refused_unless_scheduled(make, status):
    webinar = make.webinar(status=status)
    before = len(_events(webinar.webinar_id, "webinar_status_changed"))
    with pytest.raises(Conflict):
        lifecycle.cancel(webinar, actor=SYSTEM)
    db.session.expire_all()
    assert db.session.get(Webinar, webinar.webinar_id).status == status
    assert len(_events(webinar.webinar_id, "webinar_status_changed")) == before
    assert db.session.get(Webinar, webinar.webinar_id).cancelled_at is None


def test_cancel_refused_for_a_speaker_and_another_organizer(as_user, staff, make):
    webinar = make.webinar(owner=staff.owner, status="scheduled", speakers=(staff.speaker,))
    assert _status(as_user(staff.other), webinar, "cancel").status_code in (403, 404)
    assert _status(as_user(staff.speaker), webinar, "cancel").status_code == 403
    db.session.expire_all()
    assert db.session.get(Webinar, webinar.webinar_id).status == "scheduled"


def test_archiving_a_finished_webinar_is_not_a_cancellation(make):
    webinar = make.webinar(status="finished")
    lifecycle.archive(webinar, actor=SYSTEM)
    db.session.expire_all()
    webinar = db.session.get(Webinar, webinar.webinar_id)
    assert webinar.status == "archived" and webinar.cancelled_at is None
    assert "reason" not in _events(webinar.webinar_id, "webinar_status_changed")[-1].data


def test_delete_draft_with_confirmation_and_audit(as_user, staff, make):
    webinar = make.webinar(owner=staff.owner, slots=(utcnow() + timedelta(days=2),))
    webinar_id = webinar.webinar_id
    session = as_user(staff.owner)
    page = session.get(f"/admin/webinars/{webinar_id}").get_data(as_text=True)
    assert 'data-testid="webinar-delete"' in page and "cannot be undone" in page
    response = session.post(f"/admin/webinars/{webinar_id}/delete", htmx=True, target="status-panel")
    assert response.headers.get("HX-Redirect") == "/admin/webinars"
    db.session.expire_all()
    assert db.session.get(Webinar, webinar_id) is None
    assert db.session.scalar(select(func.count()).select_from(WebinarSlot)
                             .where(WebinarSlot.webinar_id == webinar_id)) == 0
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "delete"))
    assert entry.detail["webinar_id"] == webinar_id and entry.actor_user_id == staff.owner.user_id


@pytest.mark.parametrize("status", ["scheduled", "finished", "archived"])
def test_delete_refused_for_non_drafts(as_user, staff, make, status):
    webinar = make.webinar(owner=staff.owner, status=status)
    session = as_user(staff.owner)
    assert 'data-testid="webinar-delete"' not in session.get(f"/admin/webinars/{webinar.webinar_id}").get_data(
        as_text=True)
    response = session.post(f"/admin/webinars/{webinar.webinar_id}/delete", htmx=True, target="status-panel")
    assert response.status_code == 409
    assert "Only drafts can be deleted" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Webinar, webinar.webinar_id).status == status
    assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "delete")) == 0


def test_delete_refused_for_another_organizer(as_user, staff, make):
    webinar = make.webinar(owner=staff.owner)
    response = as_user(staff.other).post(f"/admin/webinars/{webinar.webinar_id}/delete")
    assert response.status_code in (403, 404)
    assert db.session.get(Webinar, webinar.webinar_id) is not None


def test_duplicate_copies_settings_into_a_new_draft(as_user, staff, make):
    later = utcnow().replace(microsecond=0) + timedelta(days=3)
    webinar = make.webinar(owner=staff.owner, status="scheduled", speakers=(staff.speaker,), slots=(later,),
                           capacity=30, requires_approval=True, completion_percent=70)
    db.session.add(RegistrationQuestion(webinar_id=webinar.webinar_id, label="Company", kind="text", required=True))
    db.session.commit()
    register(webinar, name="Ann", email="ann@example.com")
    session = as_user(staff.owner)
    response = session.post(f"/admin/webinars/{webinar.webinar_id}/duplicate", htmx=True, target="status-panel")
    location = response.headers["HX-Redirect"]
    copy_id = int(location.split("/")[3])
    copy = db.session.get(Webinar, copy_id)
    assert copy.status == "draft" and copy.cta_visibility == "hidden"
    assert copy.slug != webinar.slug and copy.slug.startswith(webinar.slug) and copy.title.endswith("(copy)")
    for name in ("cta_text", "cta_url", "stream_url", "scheduled_at", "capacity", "requires_approval",
                 "completion_percent", "timezone", "duration_minutes"):
        assert getattr(copy, name) == getattr(webinar, name), name
    assert [s.starts_at for s in copy.slots] == [later]
    assert [s.user_id for s in copy.speakers] == [staff.speaker.user_id]
    questions = db.session.scalars(select(RegistrationQuestion).where(RegistrationQuestion.webinar_id == copy_id)).all()
    assert [(q.label, q.required) for q in questions] == [("Company", True)]
    assert db.session.scalar(select(func.count()).select_from(Registration)
                             .where(Registration.webinar_id == copy_id)) == 0
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.webinar_id == copy_id)).action == "duplicate"
    again = session.post(f"/admin/webinars/{webinar.webinar_id}/duplicate")
    assert again.status_code == 303
    slugs = db.session.scalars(select(Webinar.slug).where(Webinar.slug.like(f"{webinar.slug}%"))).all()
    assert len(set(slugs)) == 3


def test_duplicate_refused_for_another_organizer(as_user, staff, make):
    webinar = make.webinar(owner=staff.owner)
    before = db.session.scalar(select(func.count()).select_from(Webinar))
    assert as_user(staff.other).post(f"/admin/webinars/{webinar.webinar_id}/duplicate").status_code in (403, 404)
    assert db.session.scalar(select(func.count()).select_from(Webinar)) == before


def test_room_of_a_cancelled_webinar_says_cancelled(client, make):
    webinar = make.webinar(status="scheduled")
    token = register(webinar, name="Ann", email="ann@example.com").token
    assert 'data-testid="room-cancelled"' not in client.get(f"/room/{token}").get_data(as_text=True)
    lifecycle.cancel(webinar, actor=SYSTEM)
    html = client.get(f"/room/{token}").get_data(as_text=True)
    assert 'data-testid="room-cancelled"' in html and "Cancelled" in html and 'data-testid="room-ended"' not in html
