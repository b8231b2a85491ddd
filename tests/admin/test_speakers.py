"""Assigning and removing speakers (WebinarSpeaker rows)."""
from __future__ import annotations

from sqlalchemy import select

from portal.core.models import WebinarSpeaker
from portal.extensions import db


def _speakers(webinar_id):
    db.session.expire_all()
    return sorted(db.session.scalars(select(WebinarSpeaker.user_id).where(WebinarSpeaker.webinar_id == webinar_id)))


def test_candidates_are_active_speaker_and_organizer_accounts(as_user, staff, make):
    disabled = make.user(role="speaker", display_name="Dora Disabled", disabled=True)
    webinar = make.webinar(owner=staff.owner)
    html = as_user(staff.owner).get(f"/admin/webinars/{webinar.webinar_id}/speakers").get_data(as_text=True)
    assert "Sam Speaker" in html and "Oscar Other" in html
    assert "Dora Disabled" not in html and "Ada Admin" not in html
    assert disabled.is_disabled


def test_assign_and_remove_with_htmx(as_user, staff, make):
    webinar = make.webinar(owner=staff.owner)
    session = as_user(staff.owner)
    added = session.post(f"/admin/webinars/{webinar.webinar_id}/speakers", {"user_id": staff.speaker.user_id},
                         htmx=True, target="speakers")
    assert added.status_code == 200
    html = added.get_data(as_text=True)
    assert html.lstrip().startswith('<section id="speakers"') and "Sam Speaker" in html
    assert _speakers(webinar.webinar_id) == [staff.speaker.user_id]
    row = db.session.scalar(select(WebinarSpeaker))
    assert (row.display_name, row.role) == ("Sam Speaker", "speaker")
    removed = session.post(f"/admin/webinars/{webinar.webinar_id}/speakers/{staff.speaker.user_id}/remove",
                           htmx=True, target="speakers")
    assert removed.status_code == 200
    assert _speakers(webinar.webinar_id) == []


def test_assigned_speaker_can_open_the_console_permission(staff, make, as_user):
    from portal.core.permissions import Action, can

    webinar = make.webinar(owner=staff.owner)
    as_user(staff.owner).post(f"/admin/webinars/{webinar.webinar_id}/speakers", {"user_id": staff.speaker.user_id})
    db.session.expire_all()
    assert can(staff.speaker, Action.OPEN_CONSOLE, webinar)


def test_bad_choices_are_refused(as_user, staff, make):
    webinar = make.webinar(owner=staff.owner, speakers=(staff.speaker,))
    session = as_user(staff.owner)
    for user_id in (staff.admin.user_id, staff.speaker.user_id, 999999, "x"):
        response = session.post(f"/admin/webinars/{webinar.webinar_id}/speakers", {"user_id": user_id})
        assert response.status_code == 422
    assert _speakers(webinar.webinar_id) == [staff.speaker.user_id]
