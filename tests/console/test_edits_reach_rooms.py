"""Issue 12 point 5: an organizer's saved edit (time, CTA text or link, stream URL, the attendee
count switch) is pushed to every open room and console after its commit, and only then."""
from __future__ import annotations

from datetime import timedelta

import pytest

from portal.core import lifecycle
from portal.core.permissions import SYSTEM
from portal.db_types import utcnow
from portal.room.channels import console_channel, room_channel
from tests.admin.conftest import as_user  # noqa: F401 - fixture found by name
from tests.admin.test_webinar_form import live_form


@pytest.fixture
def owner(make):
    return make.user(role="organizer")


def soon():
    """A start time the form can repeat exactly (whole minutes)."""
    return (utcnow() + timedelta(hours=1)).replace(second=0, microsecond=0)


def form_of(webinar, **changes) -> dict:
    """The edit form as the webinar stands, with `changes` (None: the field left out)."""
    values = {"title": webinar.title, "slug": webinar.slug, "timezone": "UTC",
              "scheduled_at": webinar.scheduled_at.strftime("%Y-%m-%dT%H:%M"), "stream_url": webinar.stream_url,
              "cta_text": webinar.cta_text, "cta_url": webinar.cta_url}
    return live_form(**{**values, **changes})


def test_cta_stream_and_count_edits_reach_open_rooms_and_consoles(as_user, owner, make, pushes):  # noqa: F811
    webinar = make.webinar(owner=owner, status="live", cta_text="Old offer", scheduled_at=soon())
    lifecycle.core_webinar_set_cta_visibility(webinar, "visible", actor=SYSTEM)
    w = webinar.webinar_id
    pushes.clear()
    session = as_user(owner)
    form = form_of(webinar, cta_text="Fresh offer", cta_url="https://example.com/fresh",
                   stream_url="https://cdn.example.com/other.m3u8", show_attendee_count=None)
    assert session.post(f"/admin/webinars/{w}/edit", form).status_code == 303

    room = "".join(pushes.to(room_channel(w)))
    assert 'id="room-cta"' in room and "Fresh offer" in room and "Old offer" not in room
    assert 'id="room-stage"' in room and "https://cdn.example.com/other.m3u8" in room
    assert 'id="room-count"' in room and 'data-testid="attendee-count"' not in room  # switched off
    assert 'data-lang="en"' in room and 'data-lang="ru"' in room
    assert 'id="room-status"' not in room  # the status did not change: not re-sent
    console = "".join(pushes.to(console_channel(w)))
    assert 'id="console-cta"' in console and "Fresh offer" in console and "https://example.com/fresh" in console
    assert 'id="console-controls"' not in console

    # Saving the same values again pushes nothing.
    pushes.clear()
    assert session.post(f"/admin/webinars/{w}/edit", form).status_code == 303
    assert pushes.to(room_channel(w)) == [] and pushes.to(console_channel(w)) == []


def test_a_new_time_moves_the_countdown_in_open_rooms(as_user, owner, make, pushes):  # noqa: F811
    webinar = make.webinar(owner=owner, status="scheduled", scheduled_at=soon())
    w = webinar.webinar_id
    later = (webinar.scheduled_at + timedelta(days=1)).replace(second=0, microsecond=0)
    pushes.clear()
    form = form_of(webinar, scheduled_at=later.strftime("%Y-%m-%dT%H:%M"))
    assert as_user(owner).post(f"/admin/webinars/{w}/edit", form).status_code == 303
    room = "".join(pushes.to(room_channel(w)))
    assert f'data-key="scheduled:{later.isoformat()}"' in room  # the stage with the new countdown
    assert 'id="room-status"' in room and 'id="chat-compose"' in room
    assert 'id="room-cta"' not in room
    console = "".join(pushes.to(console_channel(w)))
    assert 'id="console-controls"' in console and later.isoformat() in console


def test_a_refused_edit_pushes_nothing(as_user, owner, make, pushes):  # noqa: F811
    webinar = make.webinar(owner=owner, status="live", scheduled_at=soon())
    pushes.clear()
    form = form_of(webinar, cta_text="Never shown", cta_url="not a link")
    assert as_user(owner).post(f"/admin/webinars/{webinar.webinar_id}/edit", form).status_code == 422
    assert pushes.to(room_channel(webinar.webinar_id)) == []
    assert pushes.to(console_channel(webinar.webinar_id)) == []
