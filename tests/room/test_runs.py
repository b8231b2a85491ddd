"""Issue 12 point 3: a live webinar with several start times runs once per time.

Each test failed before runs existed: one status served every time (a stop ended the
webinar for later registrants, one start let every time's registrants in, the countdown and
lobby followed the first time, the main time could not be booked once extra times existed).
"""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from portal.attendance import ledger as attendance
from portal.attendance import presence
from portal.attendance.models import Attendance
from portal.core import lifecycle, runs
from portal.core.models import OutboxEvent
from portal.core.permissions import SYSTEM
from portal.db_types import utcnow
from portal.errors import Invalid
from portal.extensions import db
from portal.registration import choices, service
from portal.room import chat, cohorts, fragments
from portal.room.channels import room_channel


def _two_times(make, *, apart: timedelta = timedelta(hours=2)):
    """A live webinar at +1 h (main time) with an extra time `apart` later; one registrant each."""
    main = utcnow().replace(microsecond=0) + timedelta(hours=1)
    w = make.webinar(status="scheduled", scheduled_at=main, slots=(main + apart,))
    first = service.register(w, name="First", email="first@example.com", slot=None)
    second = service.register(w, name="Second", email="second@example.com", slot=w.slots[0])
    return w, first.registration, second.registration


def _events(webinar_id: int, name: str) -> list[OutboxEvent]:
    return list(db.session.scalars(select(OutboxEvent).where(
        OutboxEvent.webinar_id == webinar_id, OutboxEvent.event == name).order_by(OutboxEvent.id)))


def _status(reg) -> str:
    return fragments.room_context(reg.webinar, reg=reg)["status"]


def test_the_main_time_can_be_booked_besides_the_extra_times(app, make):
    w, _, _ = _two_times(make)
    offered = choices.offered(w, now=utcnow())
    assert [c.value for c in offered] == [choices.MAIN, str(w.slots[0].slot_id)]
    assert choices.resolve(w, choices.MAIN, now=utcnow()).slot is None
    with pytest.raises(Invalid):
        choices.resolve(w, "", now=utcnow())  # two times: the registrant must choose


def test_start_lets_only_that_times_registrants_in(app, make):
    w, first, second = _two_times(make)
    presence.connected(first, connection_id="one")
    presence.connected(second, connection_id="two")
    lifecycle.core_webinar_set_status(w, "start", actor=SYSTEM)
    assert presence.settle(app)
    assert w.run_starts_at == w.scheduled_at
    assert [e.lead_id for e in _events(w.webinar_id, "client_webinar_entered")] == [first.lead_id]
    assert _status(first) == "live" and _status(second) == "scheduled"
    # The waiting registrant's countdown and lobby follow their own time, not the first one's.
    context = fragments.room_context(w, reg=second)
    assert context["starts_at"] == w.slots[0].starts_at
    assert context["lobby_opens_at"] == w.slots[0].starts_at - timedelta(minutes=w.chat_lobby_minutes)
    presence.ensure_entered(second, connection_id="two")  # the page's "enter" frame: refused
    assert attendance.present_count(w.webinar_id) == 1


def test_stop_ends_the_run_and_the_webinar_waits_for_the_next_time(app, make):
    w, first, second = _two_times(make)
    lifecycle.core_webinar_set_status(w, "start", actor=SYSTEM)
    presence.connected(first, connection_id="one")
    outcome = lifecycle.core_webinar_set_status(w, "stop", actor=SYSTEM)
    assert (outcome.before, outcome.after) == ("live", "scheduled")
    completed = _events(w.webinar_id, "webinar_completed")
    run_one = runs.run_session_id(w.webinar_id, None)
    assert [e.session_id for e in completed] == [run_one]
    left = _events(w.webinar_id, "client_webinar_left")
    assert [(e.lead_id, e.session_id, e.data["leave_reason"]) for e in left] == \
        [(first.lead_id, run_one, "webinar_finished")]
    assert _status(first) == "finished" and _status(second) == "scheduled"
    # A second click on stop is a repeat, not a refusal.
    assert not lifecycle.core_webinar_set_status(w, "stop", actor=SYSTEM).changed

    lifecycle.core_webinar_set_status(w, "start", actor=SYSTEM)
    assert w.run_starts_at == w.slots[0].starts_at
    assert _status(first) == "finished" and _status(second) == "live"
    presence.connected(second, connection_id="two")
    presence.connected(first, connection_id="one-again")  # time 1's registrant stays out
    entered = _events(w.webinar_id, "client_webinar_entered")
    run_two = runs.run_session_id(w.webinar_id, w.slots[0].slot_id)
    assert [(e.lead_id, e.session_id) for e in entered][-1] == (second.lead_id, run_two)
    assert db.session.scalar(select(Attendance).where(Attendance.connection_id == "one-again")) is None

    outcome = lifecycle.core_webinar_set_status(w, "stop", actor=SYSTEM)
    assert outcome.after == "finished"
    assert [e.session_id for e in _events(w.webinar_id, "webinar_completed")] == [run_one, run_two]


def test_start_names_a_time_that_already_ran_is_refused(app, make):
    w, _, _ = _two_times(make)
    lifecycle.core_webinar_set_status(w, "start", actor=SYSTEM)
    lifecycle.core_webinar_set_status(w, "stop", actor=SYSTEM)
    before = len(_events(w.webinar_id, "webinar_status_changed"))
    with pytest.raises(Invalid):
        lifecycle.core_webinar_set_status(w, "start", actor=SYSTEM, starts_at=w.scheduled_at)
    db.session.rollback()
    db.session.refresh(w)
    assert w.status == "scheduled" and len(_events(w.webinar_id, "webinar_status_changed")) == before


def test_each_run_has_its_own_chat_and_channel(app, make, pushes):
    w, first, second = _two_times(make)
    lifecycle.core_webinar_set_status(w, "start", actor=SYSTEM)
    second_channel = cohorts.channel_of(second)
    assert cohorts.channel_of(first) == room_channel(w.webinar_id) != second_channel
    # The go-live push tells each time's rooms their own state.
    assert 'data-status="live"' in pushes.to(room_channel(w.webinar_id))[-1]
    assert 'data-status="scheduled"' in pushes.to(second_channel)[-1]
    pushes.clear()
    message = chat.post(first, "hello run one")
    assert message.session_id == runs.run_session_id(w.webinar_id, None)
    assert any("hello run one" in html for html in pushes.to(room_channel(w.webinar_id)))
    assert not any("hello run one" in html for html in pushes.to(second_channel))
    assert chat.messages_for(w.webinar_id, viewer_lead_id=second.lead_id,
                             session_id=cohorts.of(second).session_id) == []


def test_we_are_live_and_thank_you_go_to_the_runs_own_registrants(app, make):
    from portal.mail import broadcast, reminders
    from portal.mail.models import MailMessage

    def mailed(kind: str) -> list[int]:
        return sorted(db.session.scalars(select(MailMessage.registration_id).where(
            MailMessage.webinar_id == w.webinar_id, MailMessage.kind == kind)))

    # The second time is close: inside "we are live"'s window, but not this run's.
    w, first, second = _two_times(make, apart=timedelta(minutes=5))
    lifecycle.core_webinar_set_status(w, "start", actor=SYSTEM)
    broadcast.went_live(w, now=w.scheduled_at)
    db.session.commit()
    assert mailed(reminders.LIVE_NOW) == [first.registration_id]
    lifecycle.core_webinar_set_status(w, "stop", actor=SYSTEM)
    broadcast.completed(w, now=utcnow())
    db.session.commit()
    assert mailed(reminders.THANK_YOU) == [first.registration_id]
    # The sender re-checks at send time: for the second time's registrant run 1 is not theirs.
    lifecycle.core_webinar_set_status(w, "start", actor=SYSTEM)
    message = MailMessage(registration_id=first.registration_id, webinar_id=w.webinar_id,
                          kind=reminders.LIVE_NOW, occurrence="x", recipient="first@example.com")
    assert reminders.still_wanted(message, first) == "not live"


def test_only_core_writes_which_time_runs(app, make):
    from portal.core.guard import GuardedFieldWrite

    w, _, _ = _two_times(make)
    with pytest.raises(GuardedFieldWrite):
        w.run_starts_at = w.slots[0].starts_at
    db.session.rollback()
    with pytest.raises(GuardedFieldWrite):
        db.session.execute(db.text("UPDATE webinar SET run_starts_at = NULL"))
    db.session.rollback()


def test_a_webinar_live_before_runs_were_recorded_finishes_on_stop(app, make):
    from portal.core.guard import core_write

    w, _, _ = _two_times(make)
    lifecycle.core_webinar_set_status(w, "start", actor=SYSTEM)
    with core_write():  # as a row migrated while live looks: no run recorded
        db.session.execute(db.text("UPDATE webinar SET run_starts_at = NULL"))
    db.session.commit()
    db.session.refresh(w)
    assert lifecycle.core_webinar_set_status(w, "stop", actor=SYSTEM).after == "finished"


def test_the_offer_is_for_the_running_times_registrants(app, make):
    from portal.errors import Conflict
    from portal.room import cta

    w, first, second = _two_times(make)
    lifecycle.core_webinar_set_status(w, "start", actor=SYSTEM)
    lifecycle.core_webinar_set_cta_visibility(w, "visible", actor=SYSTEM)
    assert fragments.room_context(w, reg=first, page=True)["cta_visible"]
    assert not fragments.room_context(w, reg=second, page=True)["cta_visible"]
    assert cta.click(first) == w.cta_url
    with pytest.raises(Conflict):
        cta.click(second)
    db.session.rollback()
    assert [e.lead_id for e in _events(w.webinar_id, "client_webinar_cta_clicked")] == [first.lead_id]
