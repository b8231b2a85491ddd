"""The organizer's reminder switches: the webinar form sets them, the webinar page shows them,
moving the time from the form sends the reschedule notice, and a switch turned on reaches
those registered already."""
from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from portal.core.models import Webinar
from portal.db_types import utcnow
from portal.extensions import db
from portal.mail import reminders
from portal.mail.models import MailMessage
from portal.registration import service
from tests.admin.conftest import as_user, staff  # noqa: F401 - fixtures
from tests.admin.test_webinar_form import live_form


def _form(webinar: Webinar, **overrides) -> dict:  # noqa: ANN003
    local = webinar.scheduled_at.astimezone(ZoneInfo(webinar.timezone))
    values = {"title": webinar.title, "slug": webinar.slug, "timezone": webinar.timezone,
              "scheduled_at": local.strftime("%Y-%m-%dT%H:%M"), **overrides}
    return live_form(**values)


def _ledger() -> dict[tuple[str, str], str]:
    db.session.expire_all()
    return {(r.kind, r.occurrence): r.status for r in db.session.scalars(select(MailMessage))}


def test_the_form_sets_the_switches_and_the_page_shows_them(app, make, as_user, staff):  # noqa: F811
    webinar = make.webinar(owner=staff.owner, status="scheduled", timezone="UTC",
                           scheduled_at=(utcnow() + timedelta(days=3)).replace(second=0, microsecond=0))
    session = as_user(staff.owner)
    page = session.get(f"/admin/webinars/{webinar.webinar_id}/edit").get_data(as_text=True)
    for name in ("remind_24h", "remind_1h", "remind_live"):  # default on
        [box] = re.findall(rf'<input[^>]*name="{name}"[^>]*>', page)
        assert "checked" in box and 'type="checkbox"' in box
    # unchecked boxes are not posted: 24 h off, the others on
    answer = session.post(f"/admin/webinars/{webinar.webinar_id}/edit",
                          _form(webinar, remind_1h="y", remind_live="y"))
    assert answer.status_code == 303
    db.session.expire_all()
    webinar = db.session.get(Webinar, webinar.webinar_id)
    assert (webinar.remind_24h, webinar.remind_1h, webinar.remind_live) == (False, True, True)
    shown = session.get(f"/admin/webinars/{webinar.webinar_id}").get_data(as_text=True)
    assert 'data-testid="reminders-on">1 h before · we are live</dd>' in shown


def test_moving_the_time_in_the_form_queues_the_notice_and_new_reminders(app, make, as_user, staff):  # noqa: F811
    old = (utcnow() + timedelta(days=3)).replace(second=0, microsecond=0)
    webinar = make.webinar(owner=staff.owner, status="scheduled", timezone="UTC", scheduled_at=old)
    service.register(webinar, name="Ann", email="ann@example.com")
    new = old + timedelta(days=1)
    session = as_user(staff.owner)
    answer = session.post(f"/admin/webinars/{webinar.webinar_id}/edit", _form(
        webinar, scheduled_at=new.strftime("%Y-%m-%dT%H:%M"), remind_24h="y", remind_1h="y", remind_live="y"))
    assert answer.status_code == 303
    ledger = _ledger()
    assert ledger[("rescheduled", "seq-1")] == "queued"
    assert ledger[("remind_24h", reminders.occurrence_of(old))] == "skipped"
    assert ledger[("remind_24h", reminders.occurrence_of(new))] == "queued"
    assert ledger[("remind_1h", reminders.occurrence_of(new))] == "queued"
    # saving again without a change queues nothing more
    session.post(f"/admin/webinars/{webinar.webinar_id}/edit", _form(
        db.session.get(Webinar, webinar.webinar_id), remind_24h="y", remind_1h="y", remind_live="y"))
    assert len(_ledger()) == len(ledger)


def test_a_switch_turned_on_reaches_those_registered_already(app, make, as_user, staff):  # noqa: F811
    start = (utcnow() + timedelta(days=3)).replace(second=0, microsecond=0)
    webinar = make.webinar(owner=staff.owner, status="scheduled", timezone="UTC", scheduled_at=start,
                           remind_24h=False)
    service.register(webinar, name="Ann", email="ann@example.com")
    assert ("remind_24h", reminders.occurrence_of(start)) not in _ledger()
    answer = as_user(staff.owner).post(f"/admin/webinars/{webinar.webinar_id}/edit",
                                       _form(webinar, remind_24h="y", remind_1h="y", remind_live="y"))
    assert answer.status_code == 303
    assert _ledger()[("remind_24h", reminders.occurrence_of(start))] == "queued"
