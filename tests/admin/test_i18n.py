"""Refusals from Core and from the organizer pages reach a Russian organizer in Russian
(they are msgids translated when shown, not English frozen when raised)."""
from __future__ import annotations

import pytest

from tests.admin.test_webinar_form import auto_form, live_form

RU = {"Accept-Language": "ru-RU,ru;q=0.9"}


@pytest.fixture
def russian(as_user, staff):
    """An organizer session whose browser asks for Russian (cookie, as the switcher sets it)."""
    session = as_user(staff.owner)
    session.client.set_cookie("lang", "ru")
    return session


def test_admin_refusal_on_an_archived_webinar_is_russian(russian, staff, make):
    webinar = make.webinar(owner=staff.owner, status="archived", title="Old")
    response = russian.post(f"/admin/webinars/{webinar.webinar_id}/edit", live_form(slug=webinar.slug))
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "Вебинар в архиве; его больше нельзя редактировать." in html
    assert "it can no longer be edited" not in html


@pytest.mark.parametrize("htmx", [True, False], ids=["fragment", "page"])
def test_core_lifecycle_conflict_is_russian_in_the_admin(russian, staff, make, htmx):
    webinar = make.webinar(owner=staff.owner, status="finished")
    response = russian.post(f"/admin/webinars/{webinar.webinar_id}/status", {"operation": "start"},
                            htmx=htmx, target="status-panel")
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "Нельзя выполнить «начать» для вебинара в статусе «завершён»." in html
    assert "Cannot start" not in html


def test_staff_refusal_is_russian(as_user, staff):
    session = as_user(staff.admin)
    response = session.post(f"/admin/users/{staff.admin.user_id}/disable", htmx=True, headers=dict(RU))
    assert response.status_code == 409
    assert "Нельзя понизить в правах или отключить собственную учётную запись." in response.get_data(as_text=True)


def test_schedule_refusal_is_russian_next_to_its_field(russian, staff):
    form = auto_form(**{"auto_schedule-kind": "weekly", "auto_schedule-times": "10:00"})
    response = russian.post("/admin/webinars/new", form)
    assert response.status_code == 422
    assert "Выберите хотя бы один день недели." in response.get_data(as_text=True)
