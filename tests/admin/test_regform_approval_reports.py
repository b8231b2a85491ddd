"""Issue 12 points 6 and 7 on the organizer's side: the registration form settings and
questions, bulk approval, the attendance and chat CSVs and the completion threshold."""
from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy import select

from portal.attendance import presence
from portal.attendance.models import Attendance
from portal.audit.models import AuditEntry
from portal.core import lifecycle
from portal.core.models import OutboxEvent, Webinar
from portal.core.permissions import SYSTEM
from portal.db_types import utcnow
from portal.extensions import db
from portal.mail import sealed
from portal.mail.ledger import TOKEN_KEY
from portal.mail.models import MailMessage
from portal.registration.models import Registration, RegistrationQuestion
from portal.registration.service import register
from portal.room.models import ChatMessage


def _csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))


def test_settings_are_saved_and_bad_values_refused(as_user, staff, make):
    webinar = make.webinar(owner=staff.owner, status="scheduled")
    session = as_user(staff.owner)
    url = f"/admin/webinars/{webinar.webinar_id}/registration-form"
    assert 'href="' + url in session.get(f"/admin/webinars/{webinar.webinar_id}").get_data(as_text=True)
    bad = session.post(url, {"capacity": "0", "completion_percent": "101", "requires_approval": "y"})
    assert bad.status_code == 422
    html = bad.get_data(as_text=True)
    assert "Between 1 and 100000 seats" in html and "Between 1 and 100 %." in html
    db.session.expire_all()
    webinar = db.session.get(Webinar, webinar.webinar_id)
    assert (webinar.capacity, webinar.requires_approval, webinar.completion_percent) == (None, False, 50)
    ok = session.post(url, {"capacity": "25", "completion_percent": "70", "requires_approval": "y"})
    assert ok.status_code == 303
    db.session.expire_all()
    webinar = db.session.get(Webinar, webinar.webinar_id)
    assert (webinar.capacity, webinar.requires_approval, webinar.completion_percent) == (25, True, 70)


def test_questions_added_and_removed_with_clear_refusals(as_user, staff, make):
    webinar = make.webinar(owner=staff.owner)
    session = as_user(staff.owner)
    base = f"/admin/webinars/{webinar.webinar_id}/registration-form/questions"
    refused = session.post(base, {"label": "Role", "kind": "choice", "options": "Only"})
    assert refused.status_code == 422 and "at least two answers" in refused.get_data(as_text=True)
    assert db.session.scalar(select(RegistrationQuestion)) is None
    assert session.post(base, {"label": "Role", "kind": "choice", "options": "Dev\nOps\n", "required": "y"}
                        ).status_code == 303
    q = db.session.scalar(select(RegistrationQuestion))
    assert (q.label, q.kind, q.options, q.required) == ("Role", "choice", ["Dev", "Ops"], True)
    page = session.get(f"/admin/webinars/{webinar.webinar_id}/registration-form").get_data(as_text=True)
    assert 'data-testid="regform-question"' in page and "Dev / Ops" in page
    removed = session.post(f"{base}/{q.question_id}/remove", htmx=True)
    assert removed.headers.get("HX-Redirect", "").endswith("/registration-form")
    assert db.session.scalar(select(RegistrationQuestion)) is None


@pytest.mark.parametrize("who", ["other", "speaker"])
def test_registration_form_refused_to_others(as_user, staff, make, who):
    webinar = make.webinar(owner=staff.owner, speakers=(staff.speaker,))
    session = as_user(getattr(staff, who))
    url = f"/admin/webinars/{webinar.webinar_id}/registration-form"
    assert session.post(url, {"capacity": "3", "completion_percent": "50"}).status_code in (403, 404)
    assert session.post(url + "/questions", {"label": "X", "kind": "text"}).status_code in (403, 404)
    db.session.expire_all()
    assert db.session.get(Webinar, webinar.webinar_id).capacity is None
    assert db.session.scalar(select(RegistrationQuestion)) is None


def test_answers_in_the_registrations_csv(as_user, staff, make):
    webinar = make.webinar(owner=staff.owner, status="scheduled")
    q = RegistrationQuestion(webinar_id=webinar.webinar_id, position=1, label="Company", kind="text")
    db.session.add(q)
    db.session.commit()
    register(webinar, name="Ann", email="ann@example.com", answers={str(q.question_id): "=Acme"})
    rows = _csv(as_user(staff.owner).get(f"/admin/webinars/{webinar.webinar_id}/registrations.csv"))
    assert rows[0][-1] == "Company" and rows[1][-1] == "'=Acme"


def test_bulk_approve_and_decline(as_user, staff, make, client):
    webinar = make.webinar(owner=staff.owner, status="scheduled", requires_approval=True)
    a, b, c = (register(webinar, name=n, email=f"{n}@example.com") for n in ("ann", "bob", "cid"))
    assert {a.state, b.state, c.state} == {"pending"}
    session = as_user(staff.owner)
    url = f"/admin/webinars/{webinar.webinar_id}/registrations"
    page = session.get(url).get_data(as_text=True)
    assert page.count('data-testid="registration-pick"') == 3 and 'data-testid="registrations-approve"' in page

    refused = session.post(url + "/decide", {"decision": "approve"}, htmx=True, target="registrations")
    assert refused.status_code == 422 and "Tick at least one registration" in refused.get_data(as_text=True)

    approved = session.post(url + "/decide", {"decision": "approve", "registration_id": [
        str(a.registration_id), str(b.registration_id)]}, htmx=True, target="registrations")
    assert approved.status_code == 200 and "2 registrations updated." in approved.get_data(as_text=True)
    confirmation = db.session.scalar(select(MailMessage).where(
        MailMessage.registration_id == a.registration_id, MailMessage.kind == "confirmation"))
    token = sealed.unseal(confirmation.context[TOKEN_KEY])  # the ledger keeps it sealed
    assert client.get(f"/room/{token}").status_code == 200, "the mailed link opens the room"
    assert client.get(f"/room/{a.token}").status_code == 404, "the token made while pending never works"
    registered = db.session.scalars(select(OutboxEvent).where(OutboxEvent.event == "client_webinar_registered")).all()
    assert sorted(e.data["registration_id"] for e in registered) == sorted([a.registration_id, b.registration_id])

    session.post(url + "/decide", {"decision": "decline", "registration_id": [str(c.registration_id),
                                                                               str(a.registration_id)]})
    db.session.expire_all()
    states = {r.registration_id: r.state for r in db.session.scalars(select(Registration))}
    assert states == {a.registration_id: "confirmed", b.registration_id: "confirmed", c.registration_id: "declined"}
    declined = db.session.scalars(select(MailMessage).where(MailMessage.kind == "declined")).all()
    assert [m.recipient for m in declined] == ["cid@example.com"]
    actions = sorted(e.action for e in db.session.scalars(select(AuditEntry).where(AuditEntry.kind == "link")))
    assert actions == ["approve", "approve", "decline"]


def test_decide_refused_for_another_organizer(as_user, staff, make):
    webinar = make.webinar(owner=staff.owner, status="scheduled", requires_approval=True)
    reg = register(webinar, name="Ann", email="ann@example.com")
    response = as_user(staff.other).post(f"/admin/webinars/{webinar.webinar_id}/registrations/decide",
                                         {"decision": "approve", "registration_id": str(reg.registration_id)})
    assert response.status_code in (403, 404)
    db.session.expire_all()
    assert db.session.get(Registration, reg.registration_id).state == "pending"


def test_attendance_and_chat_csv(as_user, staff, make):
    webinar = make.webinar(owner=staff.owner, status="live")
    reg = register(webinar, name="=Ann", email="ann@example.com").registration
    start = utcnow() - timedelta(minutes=30)
    db.session.add_all([
        Attendance(webinar_id=webinar.webinar_id, lead_id=reg.lead_id, session_id="s1", connection_id="c1",
                   entered_at=start, left_at=start + timedelta(minutes=10), leave_reason="left"),
        Attendance(webinar_id=webinar.webinar_id, lead_id=reg.lead_id, session_id="s1", connection_id="c2",
                   entered_at=start + timedelta(minutes=20), left_at=start + timedelta(minutes=25),
                   leave_reason="disconnected"),
        ChatMessage(webinar_id=webinar.webinar_id, author_id=reg.lead_id, message_body="+hello", created_at=start),
        ChatMessage(webinar_id=webinar.webinar_id, author_id=staff.owner.user_id, message_body="Welcome",
                    created_at=start + timedelta(minutes=1), posted_as_host=True, moderation_status="visible"),
    ])
    db.session.commit()
    session = as_user(staff.owner)
    report = session.get(f"/admin/webinars/{webinar.webinar_id}/attendance").get_data(as_text=True)
    for testid in ("download-registrations", "download-attendance", "download-chat"):
        assert f'data-testid="{testid}"' in report
    visits = _csv(session.get(f"/admin/webinars/{webinar.webinar_id}/attendance.csv"))
    assert visits[0][:6] == ["Name", "Email", "Joined (UTC)", "Left (UTC)", "Duration", "Reason"]
    assert [(v[0], v[4], v[5]) for v in visits[1:]] == [("'=Ann", "0:10:00", "left"),
                                                       ("'=Ann", "0:05:00", "connection lost")]
    chat = _csv(session.get(f"/admin/webinars/{webinar.webinar_id}/chat.csv"))
    assert chat[0] == ["Time (UTC)", "Author", "Email", "Role", "Status", "Message"]
    assert [(r[1], r[3], r[5]) for r in chat[1:]] == [("'=Ann", "attendee", "'+hello"),
                                                     ("Olga Owner", "host", "Welcome")]
    assert as_user(staff.other).get(f"/admin/webinars/{webinar.webinar_id}/chat.csv").status_code in (403, 404)


@pytest.mark.parametrize("percent,completes", [(50, True), (70, False)])
def test_completion_threshold_per_webinar(make, percent, completes):
    webinar = make.webinar(status="live", completion_percent=percent)
    reg = register(webinar, name="Ann", email="ann@example.com").registration
    presence.connected(reg, connection_id="x")
    presence.disconnected(reg, connection_id="x", reason="left")
    started = utcnow() - timedelta(minutes=100)
    db.session.execute(Webinar.__table__.update().where(Webinar.webinar_id == webinar.webinar_id)
                       .values(started_at=started))
    row = db.session.scalar(select(Attendance).where(Attendance.lead_id == reg.lead_id))
    row.entered_at, row.left_at = started, started + timedelta(minutes=60)  # 60 % of the live time
    db.session.commit()
    db.session.refresh(webinar)
    lifecycle.core_webinar_set_status(webinar, "stop", actor=SYSTEM)
    done = db.session.scalars(select(OutboxEvent).where(OutboxEvent.event == "client_webinar_completed")).all()
    assert bool(done) is completes
