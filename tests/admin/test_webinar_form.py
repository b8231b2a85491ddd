"""Creating and editing webinars: validation re-renders with messages and changes nothing,
slugs, time zones, the calendar SEQUENCE and the guard on status / CTA visibility."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from portal.admin import webinars
from portal.core.guard import GuardedFieldWrite
from portal.core.models import Webinar
from portal.db_types import utcnow
from portal.extensions import db
from portal.registration.service import register
from portal.registration.tokens import find_registration

UTC = UTC


def _future(days: int = 3, hour: int = 18) -> datetime:
    day = (utcnow() + timedelta(days=days)).date()
    return datetime(day.year, day.month, day.day, hour, 30)


def live_form(**overrides) -> dict:
    data = {
        "title": "Spring launch", "slug": "", "description": "All about it.", "type": "live",
        "scheduled_at": _future().strftime("%Y-%m-%dT%H:%M"), "timezone": "Europe/Berlin",
        "duration_minutes": "60", "slots": "", "stream_type": "obs",
        "stream_url": "https://cdn.example.com/live.m3u8", "external_chat_ref": "",
        "cta_text": "Buy", "cta_url": "https://example.com/buy", "cta_at_sec": "",
        "chat_lobby_minutes": "15", "show_attendee_count": "y",
        "auto_schedule-kind": "every", "auto_schedule-every_minutes": "15", "auto_schedule-horizon": "4",
        "auto_schedule-timezone": "",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def auto_form(**overrides) -> dict:
    data = live_form(type="auto", scheduled_at="", cta_at_sec="0:30")
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def _count() -> int:
    return db.session.scalar(select(func.count()).select_from(Webinar))


def test_create_live_webinar_stores_utc_and_generates_slug(as_user, staff):
    session = as_user(staff.owner)
    local = _future(hour=18)
    form = live_form(title="Запуск весны 2026", scheduled_at=local.strftime("%Y-%m-%dT%H:%M"))
    response = session.post("/admin/webinars/new", form)
    assert response.status_code == 303
    webinar = db.session.scalar(select(Webinar))
    assert webinar.slug == "zapusk-vesny-2026"
    assert webinar.owner_user_id == staff.owner.user_id
    assert webinar.status == "draft" and webinar.cta_visibility == "hidden"
    from zoneinfo import ZoneInfo
    assert webinar.scheduled_at == local.replace(tzinfo=ZoneInfo("Europe/Berlin")).astimezone(UTC)
    assert webinar.timezone == "Europe/Berlin"
    assert response.headers["Location"].endswith(f"/admin/webinars/{webinar.webinar_id}")


def test_create_auto_webinar_with_schedule(as_user, staff):
    response = as_user(staff.owner).post("/admin/webinars/new", auto_form(**{
        "auto_schedule-kind": "weekly", "auto_schedule-times": "09:00, 18:30", "auto_schedule-weekdays": ["0", "2"],
        "auto_schedule-watch_now": "y", "auto_schedule-timezone": "Europe/Moscow", "auto_schedule-horizon": "6",
    }))
    assert response.status_code == 303
    webinar = db.session.scalar(select(Webinar))
    assert webinar.type == "auto"
    assert webinar.recording_url == "" and webinar.recording_duration_sec is None  # attached on its own page
    assert webinar.cta_at_sec == 30
    assert webinar.auto_schedule == {"kind": "weekly", "watch_now": True, "horizon": 6, "timezone": "Europe/Moscow",
                                     "times": ["09:00", "18:30"], "weekdays": [0, 2]}


INVALID = [
    ("title", {"title": "   "}),
    ("slug", {"slug": "Not a slug!"}),
    ("scheduled_at", {"scheduled_at": ""}),
    ("scheduled_at", {"scheduled_at": "2020-01-01T10:00"}),
    ("scheduled_at", {"scheduled_at": "tomorrow"}),
    ("timezone", {"timezone": "Mars/Olympus"}),
    ("stream_url", {"stream_url": "javascript:alert(1)"}),
    ("stream_url", {"stream_type": "youtube", "stream_url": "https://evil.example/watch?v=dQw4w9WgXcQ"}),
    ("stream_url", {"stream_type": "youtube", "stream_url": "javascript:alert(1)//youtube.com/watch?v=dQw4w9WgXcQ"}),
    ("stream_url", {"stream_type": "vimeo", "stream_url": "https://vimeo.com.evil.example/123456"}),
    ("stream_type", {"stream_type": "twitch"}),
    ("cta_url", {"cta_url": "ftp://example.com"}),
    ("cta_url", {"cta_url": ""}),
    ("cta_text", {"cta_text": ""}),
    ("chat_lobby_minutes", {"chat_lobby_minutes": "-5"}),
    ("duration_minutes", {"duration_minutes": "0"}),
    ("slots", {"slots": "next friday"}),
    ("slots", {"slots": "2020-01-01 10:00"}),
    ("type", {"type": "hybrid"}),
]


@pytest.mark.parametrize("field,changes", INVALID, ids=[f"{f}-{i}" for i, (f, _) in enumerate(INVALID)])
def test_invalid_create_rerenders_with_message(as_user, staff, field, changes):
    response = as_user(staff.owner).post("/admin/webinars/new", live_form(**changes))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert f'id="{field}-msg"' in html
    message_block = html.split(f'id="{field}-msg"', 1)[1].split("</div>", 1)[0]
    assert 'class="error"' in message_block, f"no message for {field}"
    assert _count() == 0


INVALID_AUTO = [
    ("auto_schedule-every_minutes", {"auto_schedule-every_minutes": "0"}),
    ("auto_schedule-times", {"auto_schedule-kind": "daily", "auto_schedule-times": "25:00"}),
    ("auto_schedule-weekdays", {"auto_schedule-kind": "weekly", "auto_schedule-times": "10:00"}),
    ("auto_schedule-blackout_dates", {"auto_schedule-blackout_dates": "christmas"}),
    ("auto_schedule-horizon", {"auto_schedule-horizon": "500"}),
]


@pytest.mark.parametrize("field,changes", INVALID_AUTO, ids=[f for f, _ in INVALID_AUTO])
def test_invalid_auto_rerenders_with_message(as_user, staff, field, changes):
    response = as_user(staff.owner).post("/admin/webinars/new", auto_form(**changes))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    message_block = html.split(f'id="{field}-msg"', 1)[1].split("</div>", 1)[0]
    assert 'class="error"' in message_block, f"no message for {field}"
    assert _count() == 0


def test_slug_must_be_unique_and_generated_ones_get_a_suffix(as_user, staff, make):
    make.webinar(owner=staff.other, slug="spring-launch")
    session = as_user(staff.owner)
    taken = session.post("/admin/webinars/new", live_form(slug="spring-launch"))
    assert taken.status_code == 422 and "already uses this slug" in taken.get_data(as_text=True)
    assert _count() == 1
    assert session.post("/admin/webinars/new", live_form(title="Spring launch")).status_code == 303
    assert db.session.scalar(select(Webinar.slug).order_by(Webinar.webinar_id.desc()).limit(1)) == "spring-launch-2"


def test_nonexistent_local_time_is_refused(as_user, staff):
    # 2030-03-31 02:30 does not exist in Berlin (clocks jump from 02:00 to 03:00).
    response = as_user(staff.owner).post("/admin/webinars/new", live_form(scheduled_at="2030-03-31T02:30"))
    assert response.status_code == 422 and "does not exist" in response.get_data(as_text=True)


def test_csrf_is_required(as_user, staff):
    session = as_user(staff.owner)
    response = session.client.post("/admin/webinars/new", data=live_form())
    assert response.status_code == 400
    assert _count() == 0


def test_edit_shows_times_in_the_webinar_zone(as_user, staff, make):
    starts = datetime(2031, 6, 1, 16, 0, tzinfo=UTC)
    webinar = make.webinar(owner=staff.owner, scheduled_at=starts, timezone="Europe/Moscow")
    html = as_user(staff.owner).get(f"/admin/webinars/{webinar.webinar_id}/edit").get_data(as_text=True)
    assert 'value="2031-06-01T19:00"' in html


def test_moving_the_time_bumps_calendar_sequence_and_keeps_join_links(as_user, staff, make):
    webinar = make.webinar(owner=staff.owner, status="scheduled", timezone="UTC")
    outcome = register(webinar, name="Пётр", email="petr@example.test")
    assert webinar.calendar_sequence == 0
    session = as_user(staff.owner)
    form = live_form(title=webinar.title, slug=webinar.slug, timezone="UTC",
                     scheduled_at=(webinar.scheduled_at + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"))
    assert session.post(f"/admin/webinars/{webinar.webinar_id}/edit", form).status_code == 303
    db.session.expire_all()
    assert webinar.calendar_sequence == 1
    # Saving again without moving it changes nothing in the calendar.
    form["description"] = "New text"
    assert session.post(f"/admin/webinars/{webinar.webinar_id}/edit", form).status_code == 303
    db.session.expire_all()
    assert webinar.calendar_sequence == 1 and webinar.description == "New text"
    assert find_registration(outcome.token).registration_id == outcome.registration.registration_id
    assert webinar.status == "scheduled"


def test_invalid_edit_changes_nothing(as_user, staff, make):
    webinar = make.webinar(owner=staff.owner, title="Original")
    before = (webinar.title, webinar.slug, webinar.scheduled_at, webinar.calendar_sequence)
    response = as_user(staff.owner).post(
        f"/admin/webinars/{webinar.webinar_id}/edit",
        live_form(title="Changed", slug=webinar.slug, cta_url="nope",
                  scheduled_at=(utcnow() + timedelta(days=9)).strftime("%Y-%m-%dT%H:%M")),
    )
    assert response.status_code == 422
    db.session.expire_all()
    assert (webinar.title, webinar.slug, webinar.scheduled_at, webinar.calendar_sequence) == before


def test_form_never_writes_status_or_cta_visibility(as_user, staff, make):
    webinar = make.webinar(owner=staff.owner)
    form = live_form(slug=webinar.slug, status="live", cta_visibility="visible")
    assert as_user(staff.owner).post(f"/admin/webinars/{webinar.webinar_id}/edit", form).status_code == 303
    db.session.expire_all()
    assert (webinar.status, webinar.cta_visibility) == ("draft", "hidden")


@pytest.mark.parametrize("name", ["status", "cta_visibility"])
def test_apply_refuses_guarded_fields(make, name):
    webinar = make.webinar()
    with pytest.raises(GuardedFieldWrite):
        webinars.apply(webinar, {"title": "x", name: "live"})
    with pytest.raises(ValueError):
        webinars.apply(webinar, {"webinar_id": 5})


def test_type_change_refused_once_published(as_user, staff, make):
    webinar = make.webinar(owner=staff.owner, status="scheduled")
    response = as_user(staff.owner).post(f"/admin/webinars/{webinar.webinar_id}/edit", auto_form(slug=webinar.slug))
    assert response.status_code == 422
    db.session.expire_all()
    assert webinar.type == "live"


def test_time_change_refused_once_started(as_user, staff, make):
    webinar = make.webinar(owner=staff.owner, status="live")
    response = as_user(staff.owner).post(
        f"/admin/webinars/{webinar.webinar_id}/edit",
        live_form(slug=webinar.slug, scheduled_at=_future(days=10).strftime("%Y-%m-%dT%H:%M")),
    )
    assert response.status_code == 422 and "already started" in response.get_data(as_text=True)


def test_archived_webinar_is_read_only(as_user, staff, make):
    webinar = make.webinar(owner=staff.owner, status="archived", title="Old")
    response = as_user(staff.owner).post(f"/admin/webinars/{webinar.webinar_id}/edit", live_form(slug=webinar.slug))
    assert response.status_code == 409
    db.session.expire_all()
    assert webinar.title == "Old"


def test_slots_added_and_booked_ones_kept(as_user, staff, make):
    first = datetime(2032, 1, 10, 10, 0, tzinfo=UTC)
    webinar = make.webinar(owner=staff.owner, status="scheduled", timezone="UTC", slots=(first,))
    register(webinar, name="Anna", email="anna@example.test", slot=webinar.slots[0])
    session = as_user(staff.owner)
    base = dict(slug=webinar.slug, timezone="UTC", scheduled_at=webinar.scheduled_at.strftime("%Y-%m-%dT%H:%M"))
    removing = session.post(f"/admin/webinars/{webinar.webinar_id}/edit", live_form(**base, slots="2032-01-11 10:00"))
    assert removing.status_code == 422 and "has registrations" in removing.get_data(as_text=True)
    adding = session.post(f"/admin/webinars/{webinar.webinar_id}/edit",
                          live_form(**base, slots="2032-01-10 10:00\n2032-01-11 10:00"))
    assert adding.status_code == 303
    db.session.expire_all()
    assert [s.starts_at for s in webinar.slots] == [first, datetime(2032, 1, 11, 10, 0, tzinfo=UTC)]


def test_admin_can_hand_a_webinar_to_another_organizer(as_user, staff):
    response = as_user(staff.admin).post("/admin/webinars/new", live_form(owner_user_id=str(staff.other.user_id)))
    assert response.status_code == 303
    assert db.session.scalar(select(Webinar.owner_user_id)) == staff.other.user_id
    # Organizers have no owner field; a forged one is ignored.
    as_user(staff.owner).post("/admin/webinars/new", live_form(title="Forged", owner_user_id=str(staff.other.user_id)))
    assert db.session.scalar(select(Webinar.owner_user_id).where(Webinar.title == "Forged")) == staff.owner.user_id


def test_external_chat_ref_kept_for_external_streams_only(as_user, staff):
    session = as_user(staff.owner)
    session.post("/admin/webinars/new", live_form(title="Zoom one", stream_type="zoom",
                                                  stream_url="https://zoom.us/j/123", external_chat_ref="https://zoom.us/chat/1"))
    session.post("/admin/webinars/new", live_form(title="Obs one", external_chat_ref="https://t.me/x"))
    refs = dict(db.session.execute(select(Webinar.title, Webinar.external_chat_ref)).all())
    assert refs == {"Zoom one": "https://zoom.us/chat/1", "Obs one": ""}


def test_registrants_ics_keeps_uid_and_bumps_sequence(app, as_user, staff, make):
    """The registrant's calendar file after the organizer moves the webinar: same UID,
    SEQUENCE + 1, the new start."""
    import re

    from tests.conftest import FreshGClient, csrf_token_from

    webinar = make.webinar(owner=staff.owner, status="scheduled", timezone="UTC")
    app.test_client_class = FreshGClient
    visitor = app.test_client()
    token = csrf_token_from(visitor.get(f"/w/{webinar.slug}").get_data(as_text=True))
    registered = visitor.post(f"/w/{webinar.slug}/register",
                              data={"name": "Vera", "email": "vera@example.com", "slot_id": "", "csrf_token": token})
    assert registered.status_code in (302, 303), registered.status_code

    def ics() -> dict[str, str]:
        body = visitor.get(f"/w/{webinar.slug}/calendar.ics").get_data(as_text=True)
        return dict(re.findall(r"^(UID|SEQUENCE|DTSTART)[^:]*:(.*?)\r?$", body, re.M))

    before = ics()
    assert before["SEQUENCE"] == "0"
    moved = webinar.scheduled_at + timedelta(days=2)
    form = live_form(title=webinar.title, slug=webinar.slug, timezone="UTC",
                     scheduled_at=moved.strftime("%Y-%m-%dT%H:%M"))
    assert as_user(staff.owner).post(f"/admin/webinars/{webinar.webinar_id}/edit", form).status_code == 303
    after = ics()
    assert after["UID"] == before["UID"]
    assert after["SEQUENCE"] == "1"
    assert after["DTSTART"] == moved.strftime("%Y%m%dT%H%M00Z")
