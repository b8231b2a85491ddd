"""Admins manage staff accounts: create with a one-time password, role, disable/enable, reset."""
from __future__ import annotations

import re

from sqlalchemy import select

from portal.core import users
from portal.core.models import User
from portal.extensions import db


def _password(html: str) -> str:
    match = re.search(r'<code class="secret">([^<]+)</code>', html)
    assert match, "no one-time password shown"
    return match.group(1)


def test_create_account_shows_password_once(as_user, staff, app):
    session = as_user(staff.admin)
    response = session.post("/admin/users/new",
                            {"email": "New.Speaker@Example.com", "display_name": "Nina", "role": "speaker"})
    assert response.status_code == 201
    password = _password(response.get_data(as_text=True))
    assert len(password) >= 12
    user = users.find_by_email("new.speaker@example.com")
    assert user.role == "speaker" and users.authenticate("new.speaker@example.com", password) == user
    assert password not in session.get("/admin/users").get_data(as_text=True)


def test_create_account_validation(as_user, staff, make):
    make.user(role="speaker", email="dup@example.com")
    session = as_user(staff.admin)
    duplicate = session.post("/admin/users/new", {"email": "DUP@example.com", "display_name": "X", "role": "organizer"})
    assert duplicate.status_code == 422 and "already exists" in duplicate.get_data(as_text=True)
    assert users.find_by_email("dup@example.com").role == "speaker"
    for data in ({"email": "not-an-email", "display_name": "X", "role": "speaker"},
                 {"email": "a@example.com", "display_name": "", "role": "speaker"},
                 {"email": "b@example.com", "display_name": "X", "role": "lead"}):
        response = session.post("/admin/users/new", data)
        assert response.status_code == 422
    count = db.session.scalar(select(User.user_id).where(User.email.in_(["a@example.com", "b@example.com"])))
    assert count is None


def test_disable_enable_and_reset(as_user, staff):
    session = as_user(staff.admin)
    disabled = session.post(f"/admin/users/{staff.speaker.user_id}/disable", htmx=True)
    assert disabled.status_code == 200
    assert disabled.get_data(as_text=True).lstrip().startswith(f'<tr id="user-{staff.speaker.user_id}"')
    db.session.expire_all()
    assert staff.speaker.is_disabled
    assert users.authenticate(staff.speaker.email, "correct horse battery") is None
    session.post(f"/admin/users/{staff.speaker.user_id}/enable", htmx=True)
    db.session.expire_all()
    assert not staff.speaker.is_disabled
    reset = session.post(f"/admin/users/{staff.speaker.user_id}/password", htmx=True)
    password = _password(reset.get_data(as_text=True))
    assert users.authenticate(staff.speaker.email, password) is not None
    assert users.authenticate(staff.speaker.email, "correct horse battery") is None


def test_reset_without_htmx_shows_password_on_the_page(as_user, staff):
    response = as_user(staff.admin).post(f"/admin/users/{staff.owner.user_id}/password")
    assert response.status_code == 200
    assert users.authenticate(staff.owner.email, _password(response.get_data(as_text=True))) is not None


def test_role_change(as_user, staff):
    session = as_user(staff.admin)
    promoted = session.post(f"/admin/users/{staff.speaker.user_id}/role", {"role": "organizer"}, htmx=True)
    assert promoted.status_code == 200
    db.session.expire_all()
    assert staff.speaker.role == "organizer"
    assert session.post(f"/admin/users/{staff.speaker.user_id}/role", {"role": "lead"}, htmx=True).status_code == 422
    db.session.expire_all()
    assert staff.speaker.role == "organizer"


def test_admin_cannot_lock_themselves_out(as_user, staff):
    session = as_user(staff.admin)
    for action, data in (("disable", {}), ("role", {"role": "speaker"})):
        response = session.post(f"/admin/users/{staff.admin.user_id}/{action}", data, htmx=True)
        assert response.status_code == 409
    db.session.expire_all()
    assert staff.admin.role == "admin" and not staff.admin.is_disabled


def test_users_list_search_and_filter(as_user, staff):
    session = as_user(staff.admin)
    html = session.get("/admin/users?role=speaker").get_data(as_text=True)
    assert "Sam Speaker" in html and "Olga Owner" not in html
    partial = session.get("/admin/users?q=olga", headers={"HX-Request": "true", "HX-Target": "users-table"})
    body = partial.get_data(as_text=True)
    assert body.lstrip().startswith('<div id="users-table"') and "Olga Owner" in body and "Sam Speaker" not in body
