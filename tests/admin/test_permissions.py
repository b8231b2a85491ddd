"""Every organizer page, allowed and refused: owner organizer, other organizer, admin,
speaker (assigned to the webinar) and anonymous."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.admin import access
from portal.core.models import Webinar, WebinarSpeaker
from portal.core.permissions import Action, can
from portal.extensions import db
from portal.registration.models import Registration
from portal.registration.service import register

ROLES = ("owner", "other", "admin", "speaker", "anonymous")
GLOBAL_PAGES = ("/admin/", "/admin/webinars", "/admin/webinars/new")
WEBINAR_PAGES = ("", "/edit", "/speakers", "/registrations", "/registrations.csv", "/attendance", "/analytics")
USER_PAGES = ("/admin/users", "/admin/users/new")

ALLOWED_GLOBAL = {"owner", "other", "admin"}
ALLOWED_WEBINAR = {"owner", "admin"}
ALLOWED_USERS = {"admin"}


@pytest.fixture
def world(staff, make):
    webinar = make.webinar(owner=staff.owner, status="scheduled", speakers=(staff.speaker,), title="Owned")
    reg = register(webinar, name="Ivan Lead", email="ivan@example.test").registration
    return webinar, reg


def _who(staff, role):
    return None if role == "anonymous" else getattr(staff, role)


def _expect(response, role, allowed):
    if role in allowed:
        assert response.status_code == 200, (role, response.status_code)
    elif role == "anonymous":
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    else:
        assert response.status_code == 403, (role, response.status_code)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("path", GLOBAL_PAGES)
def test_global_pages(as_user, staff, world, role, path):
    _expect(as_user(_who(staff, role)).get(path), role, ALLOWED_GLOBAL)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("suffix", WEBINAR_PAGES)
def test_webinar_pages(as_user, staff, world, role, suffix):
    webinar, _ = world
    _expect(as_user(_who(staff, role)).get(f"/admin/webinars/{webinar.webinar_id}{suffix}"), role, ALLOWED_WEBINAR)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("path", USER_PAGES)
def test_user_pages(as_user, staff, world, role, path):
    _expect(as_user(_who(staff, role)).get(path), role, ALLOWED_USERS)


def test_missing_webinar_is_404(as_user, staff):
    assert as_user(staff.admin).get("/admin/webinars/999999/registrations").status_code == 404


def test_disabled_organizer_is_refused(as_user, staff, world):
    session = as_user(staff.owner)
    staff.owner.is_disabled = True
    db.session.commit()
    webinar, _ = world
    response = session.get(f"/admin/webinars/{webinar.webinar_id}")
    # A disabled account's session no longer counts: back to the login page.
    assert response.status_code in (302, 403)
    if response.status_code == 302:
        assert "/login" in response.headers["Location"]


def _state(webinar_id, reg_id):
    db.session.expire_all()
    w = db.session.get(Webinar, webinar_id)
    reg = db.session.get(Registration, reg_id)
    speakers = db.session.scalars(select(WebinarSpeaker.user_id).where(WebinarSpeaker.webinar_id == webinar_id)).all()
    return w.status, w.title, reg.revoked_at, sorted(speakers)


@pytest.mark.parametrize("role", ROLES)
def test_actions_refused_change_nothing(as_user, staff, world, make, role):
    webinar, reg = world
    wid = webinar.webinar_id
    extra_speaker = make.user(role="speaker")
    before = _state(wid, reg.registration_id)
    session = as_user(_who(staff, role))
    responses = [
        session.post(f"/admin/webinars/{wid}/status", {"operation": "unpublish"}),
        session.post(f"/admin/webinars/{wid}/registrations/{reg.registration_id}/revoke"),
        session.post(f"/admin/webinars/{wid}/speakers", {"user_id": extra_speaker.user_id}),
        session.post(f"/admin/webinars/{wid}/edit", {"title": "Hijacked", "type": "live"}),
    ]
    after = _state(wid, reg.registration_id)
    if role in ALLOWED_WEBINAR:
        assert after[2] is not None  # revoked
        assert extra_speaker.user_id in after[3]
        assert after[0] == "scheduled"  # unpublish refused: it has a registration (409)
        assert responses[0].status_code == 409
    else:
        expected = 302 if role == "anonymous" else 403
        assert [r.status_code for r in responses] == [expected] * 4
        assert after == before


@pytest.mark.parametrize("role", ("owner", "other", "speaker"))
def test_user_admin_actions_refused(as_user, staff, role):
    target = staff.speaker if role != "speaker" else staff.other
    session = as_user(getattr(staff, role))
    for action in ("disable", "password", "role"):
        response = session.post(f"/admin/users/{target.user_id}/{action}", {"role": "admin"})
        assert response.status_code == 403
    db.session.expire_all()
    assert target.is_disabled is False and target.role != "admin"


def test_lists_show_only_owned_webinars(as_user, staff, make):
    mine = make.webinar(owner=staff.owner, title="Mine alpha")
    theirs = make.webinar(owner=staff.other, title="Theirs beta")
    owner_page = as_user(staff.owner).get("/admin/webinars").get_data(as_text=True)
    assert "Mine alpha" in owner_page and "Theirs beta" not in owner_page
    dashboard = as_user(staff.owner).get("/admin/").get_data(as_text=True)
    assert "Theirs beta" not in dashboard
    admin_page = as_user(staff.admin).get("/admin/webinars").get_data(as_text=True)
    assert "Mine alpha" in admin_page and "Theirs beta" in admin_page
    assert mine.webinar_id != theirs.webinar_id


def test_scope_agrees_with_permissions(staff, make):
    """The list filter and the page check are the same rule."""
    webinars = [make.webinar(owner=staff.owner), make.webinar(owner=staff.other, speakers=(staff.owner,)),
                make.webinar(owner=staff.admin)]
    for user in (staff.owner, staff.other, staff.admin):
        listed = set(db.session.scalars(select(Webinar.webinar_id).where(access.scope(user))))
        allowed = {w.webinar_id for w in webinars if can(user, Action.VIEW_REPORTS, w)}
        assert listed == allowed


def test_anonymous_htmx_request_redirects_the_whole_page(client, world):
    webinar, _ = world
    response = client.get(f"/admin/webinars/{webinar.webinar_id}/registrations?q=x",
                          headers={"HX-Request": "true", "HX-Target": "registrations"})
    assert response.status_code == 401
    assert response.headers["HX-Redirect"].startswith("/login?next=")
