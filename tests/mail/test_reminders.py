"""Reminders, "we are live", reschedule, cancel, thank-you and one-click unsubscribe, delivered
to a real SMTP server (aiosmtpd). The clock is driven: due times are computed from an injected
`now` and the sender claims "as of" a chosen instant — nothing sleeps."""
from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from flask import current_app
from sqlalchemy import select

from portal.admin import webinars as admin_webinars
from portal.attendance import ledger
from portal.attendance.sessions import session_for
from portal.core import lifecycle
from portal.core.models import User, Webinar
from portal.core.permissions import SYSTEM
from portal.db_types import utcnow
from portal.extensions import db
from portal.mail import broadcast, reminders, sender
from portal.mail import unsubscribe as unsub
from portal.mail.models import SENT, MailMessage
from portal.registration import service
from portal.registration.models import Registration


@pytest.fixture
def app_config(app_config, smtp_app_config):  # noqa: ANN001 - the SMTP server is configured
    return smtp_app_config


@pytest.fixture
def deliver_at(app, monkeypatch) -> Callable[[datetime], int]:  # noqa: ANN001
    """Run the sender as of `now` (its clock set there: it claims what is due then) until
    nothing due is left; the rows it handled."""

    def run(now: datetime) -> int:
        total = 0
        with monkeypatch.context() as patch:
            patch.setattr(sender, "utcnow", lambda: now)
            while handled := sender.run_once(app):
                total += handled
        db.session.expire_all()
        return total

    return run


def rows(kind: str | None = None) -> list[MailMessage]:
    db.session.expire_all()
    query = select(MailMessage).order_by(MailMessage.message_id)
    if kind is not None:
        query = query.where(MailMessage.kind == kind)
    return list(db.session.scalars(query))


def kinds_of(registration_id: int | None = None) -> dict[str, str]:
    return {r.kind: r.status for r in rows() if registration_id in (None, r.registration_id)}


def register(webinar: Webinar, email: str, **kwargs) -> Registration:  # noqa: ANN003
    result = service.register(webinar, name="Ann Lee", email=email, **kwargs)
    assert result.created
    return db.session.get(Registration, result.registration_id)


def subjects(smtp_server) -> list[str]:  # noqa: ANN001
    return [str(m["Subject"]) for m in smtp_server.sink.received]


def test_live_reminders_go_out_24h_and_1h_before_each_once(app, make, smtp_server, deliver_at):
    start = (utcnow() + timedelta(days=3)).replace(microsecond=0)
    webinar = make.webinar(status="scheduled", title="Pricing", scheduled_at=start)
    reg = register(webinar, "ann@example.com", timezone="Asia/Tokyo")
    assert reg.timezone == "Asia/Tokyo"
    queued = {r.kind: r for r in rows()}
    assert set(queued) == {"confirmation", "remind_24h", "remind_1h"}
    assert queued["remind_24h"].occurrence == reminders.occurrence_of(start)
    assert queued["remind_24h"].next_attempt_at == start - timedelta(hours=24)
    assert queued["remind_1h"].next_attempt_at == start - timedelta(hours=1)

    assert deliver_at(utcnow()) == 1  # the confirmation only
    assert deliver_at(start - timedelta(hours=24, seconds=1)) == 0  # not yet
    assert deliver_at(start - timedelta(hours=24)) == 1
    assert subjects(smtp_server)[-1] == "Tomorrow: Pricing"
    tomorrow = smtp_server.sink.received[-1]
    assert re.fullmatch(r"<http://localhost/unsubscribe/[^>]+>", str(tomorrow["List-Unsubscribe"]).strip())
    assert str(tomorrow["List-Unsubscribe-Post"]) == "List-Unsubscribe=One-Click"
    text = tomorrow.get_body(("plain",)).get_content()
    assert "Asia/Tokyo" in text  # the registrant's zone
    assert deliver_at(start - timedelta(minutes=61)) == 0
    assert deliver_at(start - timedelta(hours=1)) == 1
    assert subjects(smtp_server)[-1] == "In one hour: Pricing"
    assert deliver_at(start + timedelta(days=1)) == 0
    assert len(smtp_server.sink.received) == 3
    assert all(r.status == SENT for r in rows())


def test_a_registrant_of_an_extra_start_time_is_reminded_and_invited_for_that_time(
        app, make, smtp_server, deliver_at):
    main = (utcnow() + timedelta(days=3)).replace(second=0, microsecond=0)
    extra = main + timedelta(days=1, hours=3)
    webinar = make.webinar(status="scheduled", title="Pricing", scheduled_at=main, slots=(extra,))
    first = register(webinar, "first@example.com", slot=None)
    second = register(webinar, "second@example.com", slot=webinar.slots[0])
    mine = {(r.registration_id, r.kind): r for r in rows()}
    assert mine[(first.registration_id, "remind_24h")].next_attempt_at == main - timedelta(hours=24)
    assert mine[(second.registration_id, "remind_24h")].next_attempt_at == extra - timedelta(hours=24)
    assert mine[(second.registration_id, "remind_1h")].next_attempt_at == extra - timedelta(hours=1)
    assert mine[(second.registration_id, "remind_1h")].occurrence == reminders.occurrence_of(extra)

    assert deliver_at(utcnow()) == 2  # the confirmations
    invitation = next(m for m in smtp_server.sink.received if "second@example.com" in str(m["To"]))
    ics = next(p for p in invitation.walk() if p.get_content_type() == "text/calendar").get_content()
    assert f"DTSTART:{extra:%Y%m%dT%H%M%S}Z" in ics.replace("\r\n", "\n")
    # The main time's reminders go to its registrant alone; the extra time's come a day later.
    assert deliver_at(main - timedelta(hours=1)) == 2
    assert all("first@example.com" in str(m["To"]) for m in smtp_server.sink.received[2:])
    assert deliver_at(extra - timedelta(hours=24, seconds=1)) == 0
    assert deliver_at(extra - timedelta(hours=1)) == 2
    late = smtp_server.sink.received[4:]
    assert [str(m["Subject"]) for m in late] == ["Tomorrow: Pricing", "In one hour: Pricing"]
    assert all("second@example.com" in str(m["To"]) for m in late)


def test_a_reminder_whose_time_passed_at_registration_is_not_queued(app, make):
    soon = make.webinar(status="scheduled", scheduled_at=utcnow() + timedelta(hours=2))
    register(soon, "a@example.com")
    assert set(kinds_of()) == {"confirmation", "remind_1h"}
    sooner = make.webinar(status="scheduled", scheduled_at=utcnow() + timedelta(minutes=30))
    reg = register(sooner, "b@example.com")
    assert set(kinds_of(reg.registration_id)) == {"confirmation"}


def test_switched_off_reminders_are_neither_queued_nor_sent(app, make, smtp_server, deliver_at):
    start = utcnow() + timedelta(days=2)
    webinar = make.webinar(status="scheduled", scheduled_at=start, remind_24h=False)
    reg = register(webinar, "a@example.com")
    assert set(kinds_of(reg.registration_id)) == {"confirmation", "remind_1h"}
    webinar.remind_1h = False  # turned off after it was queued: skipped when due
    db.session.commit()
    deliver_at(start)
    assert subjects(smtp_server) == [f"You are registered: {webinar.title}"]
    assert rows("remind_1h")[0].last_answer.endswith("turned off")


def test_auto_webinar_reminds_1h_before_and_at_the_chosen_start_and_never_for_watch_now(
        app, make, smtp_server, deliver_at):
    webinar = make.webinar(status="scheduled", type="auto", title="Evergreen")
    chosen = (utcnow() + timedelta(hours=5)).replace(microsecond=0)
    reg = register(webinar, "a@example.com", starts_at=chosen)
    watch_now = register(webinar, "b@example.com", starts_at=utcnow().replace(microsecond=123456))
    assert set(kinds_of(reg.registration_id)) == {"confirmation", "remind_1h", "starting_now"}
    assert set(kinds_of(watch_now.registration_id)) == {"confirmation"}
    deliver_at(chosen)
    assert sorted(subjects(smtp_server)) == sorted([
        "You are registered: Evergreen", "You are registered: Evergreen",
        "In one hour: Evergreen", "Starting now: Evergreen"])


def test_we_are_live_goes_only_to_registrants_not_in_the_room(app, make, smtp_server, deliver_at):
    webinar = make.webinar(status="scheduled", title="Launch", scheduled_at=utcnow() + timedelta(minutes=10))
    inside = register(webinar, "inside@example.com")
    outside = register(webinar, "outside@example.com")
    deliver_at(utcnow())  # the confirmations
    lifecycle.core_webinar_set_status(webinar, "start", actor=SYSTEM)
    reminders.settle(current_app)  # "we are live" is queued after the commit, in the background
    live = rows("live_now")
    assert {r.registration_id for r in live} == {inside.registration_id, outside.registration_id}
    # the attendee in the room (an open attendance row) when the mail is due
    ledger.enter(inside, session_id=session_for(inside), connection_id="c1")
    db.session.commit()
    assert deliver_at(utcnow()) == 0  # not before the grace after go-live
    deliver_at(utcnow() + reminders.LIVE_NOW_GRACE)
    live_mails = [m for m in smtp_server.sink.received if str(m["Subject"]) == "We are live: Launch"]
    assert [str(m["To"]) for m in live_mails] == ["Ann Lee <outside@example.com>"]
    by_reg = {r.registration_id: r for r in rows("live_now")}
    assert by_reg[inside.registration_id].status != SENT
    assert by_reg[inside.registration_id].last_answer.endswith("in the room")
    # pausing and resuming is not a second go-live
    lifecycle.pause(webinar, actor=SYSTEM)
    lifecycle.core_webinar_set_status(webinar, "start", actor=SYSTEM)
    reminders.settle(current_app)  # "we are live" is queued after the commit, in the background
    assert len(rows("live_now")) == 2


def test_reschedule_sends_a_higher_sequence_and_the_old_reminders_never(app, make, smtp_server, deliver_at):
    old = (utcnow() + timedelta(days=3)).replace(second=0, microsecond=0)
    webinar = make.webinar(status="scheduled", title="Moving", scheduled_at=old, timezone="UTC")
    reg = register(webinar, "a@example.com")
    deliver_at(utcnow())
    [confirmation] = smtp_server.sink.received
    uid = re.search(r"UID:(\S+)", _ics(confirmation)).group(1)
    new = old + timedelta(days=2)
    form = _input(webinar, scheduled_at=new.replace(tzinfo=None))
    admin_webinars.update(webinar, form, actor=webinar.owner)
    assert webinar.calendar_sequence == 1
    statuses = {(r.kind, r.occurrence): r.status for r in rows()}
    assert statuses[("remind_24h", reminders.occurrence_of(old))] == "skipped"
    assert statuses[("remind_1h", reminders.occurrence_of(old))] == "skipped"
    assert statuses[("remind_24h", reminders.occurrence_of(new))] == "queued"
    assert statuses[("rescheduled", "seq-1")] == "queued"
    deliver_at(utcnow())
    notice = smtp_server.sink.received[-1]
    assert str(notice["Subject"]) == "New time: Moving"
    ics = _ics(notice)
    assert "METHOD:REQUEST" in ics and f"UID:{uid}" in ics and "SEQUENCE:1" in ics
    assert new.strftime("%Y%m%dT%H%M%SZ") in ics
    # the join link is the same one the confirmation carried
    link = re.search(r"http://localhost/room/\S+", confirmation.get_body(("plain",)).get_content()).group(0)
    assert link in notice.get_body(("plain",)).get_content()
    # the old reminders' times pass: nothing; the new ones go out once
    deliver_at(old)
    assert [str(m["Subject"]) for m in smtp_server.sink.received[2:]] == []
    deliver_at(new)
    assert subjects(smtp_server)[2:] == ["Tomorrow: Moving", "In one hour: Moving"]
    assert reg.registration_id == rows("rescheduled")[0].registration_id


def test_cancel_notice_has_method_cancel_and_no_reminder_follows(app, make, smtp_server, deliver_at):
    start = utcnow() + timedelta(days=3)
    webinar = make.webinar(status="scheduled", title="Gone", scheduled_at=start)
    register(webinar, "a@example.com")
    deliver_at(utcnow())
    # issue 12's Core cancel will call this in its transaction; today the hook is called directly
    assert broadcast.cancelled(webinar) == 1
    db.session.commit()
    deliver_at(start + timedelta(days=1))
    assert subjects(smtp_server) == ["You are registered: Gone", "Cancelled: Gone"]
    ics = _ics(smtp_server.sink.received[-1])
    assert "METHOD:CANCEL" in ics and "STATUS:CANCELLED" in ics and "SEQUENCE:1" in ics
    assert {r.kind: r.status for r in rows()}["remind_24h"] == "skipped"
    # a reminder queued after the cancellation (a re-run scheduler) is vetoed at send time
    reg = db.session.scalars(select(Registration)).one()
    reminders.schedule_registration(reg, now=utcnow() - timedelta(days=30))
    db.session.commit()
    deliver_at(start + timedelta(days=1))
    assert len(smtp_server.sink.received) == 2


def test_one_click_unsubscribe_stops_reminders_not_the_confirmation(app, make, client, smtp_server, deliver_at):
    start = utcnow() + timedelta(days=3)
    webinar = make.webinar(status="scheduled", title="Quiet", scheduled_at=start)
    reg = register(webinar, "a@example.com")
    url = unsub.url_for_registration(reg).removeprefix("http://localhost")
    # a GET (a link scanner) changes nothing and offers the button
    page = client.get(url)
    assert page.status_code == 200 and b'data-testid="unsubscribe-button"' in page.data
    assert db.session.get(Registration, reg.registration_id).reminders_unsubscribed_at is None
    # RFC 8058: the mail client's POST, no login, no CSRF token
    answer = client.post(url, data={"List-Unsubscribe": "One-Click"})
    assert answer.status_code == 200 and b'data-testid="unsubscribe-done"' in answer.data
    db.session.expire_all()
    assert db.session.get(Registration, reg.registration_id).reminders_unsubscribed_at is not None
    assert client.post(url, data={"List-Unsubscribe": "One-Click"}).status_code == 200  # idempotent
    deliver_at(start + timedelta(days=1))
    assert subjects(smtp_server) == ["You are registered: Quiet"]
    assert {r.kind: r.status for r in rows()} == {"confirmation": SENT, "remind_24h": "skipped",
                                                 "remind_1h": "skipped"}
    # the notices still go out
    broadcast.cancelled(webinar)
    db.session.commit()
    deliver_at(utcnow())
    assert subjects(smtp_server)[-1] == "Cancelled: Quiet"


def test_a_tampered_unsubscribe_token_is_refused_and_changes_nothing(app, make, client):
    webinar = make.webinar(status="scheduled", scheduled_at=utcnow() + timedelta(days=3))
    reg = register(webinar, "a@example.com")
    url = unsub.url_for_registration(reg).removeprefix("http://localhost")
    for bad in (url[:-2] + "xx", "/unsubscribe/" + unsub.token_for(reg.registration_id + 999)):
        assert client.post(bad, data={"List-Unsubscribe": "One-Click"}).status_code == 404
        assert client.get(bad).status_code == 404
    db.session.expire_all()
    assert db.session.get(Registration, reg.registration_id).reminders_unsubscribed_at is None
    assert {r.status for r in rows()} == {"queued"}


def test_thank_you_after_the_end_with_the_replay_hook(app, make, smtp_server, deliver_at):
    webinar = make.webinar(status="scheduled", title="Done", scheduled_at=utcnow() + timedelta(minutes=5))
    register(webinar, "a@example.com")
    reminders.register_replay(app, lambda w: f"https://replays.example.com/{w.slug}")
    lifecycle.core_webinar_set_status(webinar, "start", actor=SYSTEM)
    reminders.settle(current_app)  # "we are live" is queued after the commit, in the background
    lifecycle.core_webinar_set_status(webinar, "stop", actor=SYSTEM)
    reminders.settle(current_app)  # queued after the commit, in the background
    [row] = rows("thank_you")
    assert row.context["replay_url"] == f"https://replays.example.com/{webinar.slug}"
    deliver_at(utcnow() + timedelta(minutes=5))
    thanks = [m for m in smtp_server.sink.received if str(m["Subject"]) == "Thank you for joining Done"]
    assert len(thanks) == 1
    assert f"https://replays.example.com/{webinar.slug}" in thanks[0].get_body(("html",)).get_content()
    # the live_now queued at go-live is not sent after the end
    assert rows("live_now")[0].status != SENT


def test_each_reminder_is_sent_once_across_a_sender_restart(app, app_config, make, smtp_server, deliver_at):
    from portal import create_app, shutdown

    start = utcnow() + timedelta(days=2)
    webinar = make.webinar(status="scheduled", scheduled_at=start)
    for n in range(3):
        register(webinar, f"p{n}@example.com")
    deliver_at(start - timedelta(hours=24))
    assert len(smtp_server.sink.received) == 6
    # a new process (a fresh app: its own sender, its own claim tokens) sees nothing to send
    second = create_app(dict(app_config))
    try:
        with second.app_context():
            with pytest.MonkeyPatch.context() as patch:
                patch.setattr(sender, "utcnow", lambda: start - timedelta(hours=24))
                assert sender.run_once(second) == 0
                patch.setattr(sender, "utcnow", lambda: start)
                assert sender.run_once(second) == 3
            db.session.remove()
    finally:
        shutdown(second)
    deliver_at(start + timedelta(hours=1))
    assert len(smtp_server.sink.received) == 9
    assert sorted(subjects(smtp_server)).count(f"In one hour: {webinar.title}") == 3


def test_the_registration_form_captures_the_browser_zone(app, make, visitor):
    webinar = make.webinar(status="scheduled", scheduled_at=utcnow() + timedelta(days=1))
    page = visitor.open(f"/w/{webinar.slug}").get_data(as_text=True)
    [field] = re.findall(r'<input[^>]*name="timezone"[^>]*>', page)
    assert "data-browser-zone" in field and 'type="hidden"' in field
    assert visitor.register(webinar.slug, email="z@example.com", timezone="America/Sao_Paulo").status_code == 303
    visitor2 = type(visitor)(app.test_client())
    assert visitor2.register(webinar.slug, email="y@example.com", timezone="../../etc/passwd").status_code == 303
    zones = {email: zone for email, zone in db.session.execute(
        select(User.email, Registration.timezone).join(User, User.user_id == Registration.lead_id))}
    assert zones == {"z@example.com": "America/Sao_Paulo", "y@example.com": None}  # unknown: the event's


def _ics(message) -> str:  # noqa: ANN001
    parts = {p.get_content_type(): p for p in message.walk()}
    return parts["text/calendar"].get_content()


def _input(webinar: Webinar, **changes) -> admin_webinars.WebinarInput:  # noqa: ANN003
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(webinar.timezone or "UTC")
    values = dict(
        title=webinar.title, type=webinar.type, slug=webinar.slug, description=webinar.description,
        scheduled_at=webinar.scheduled_at.astimezone(zone).replace(tzinfo=None), timezone=webinar.timezone,
        duration_minutes=webinar.duration_minutes, stream_type=webinar.stream_type, stream_url=webinar.stream_url,
        cta_text=webinar.cta_text, cta_url=webinar.cta_url,
    )
    values.update(changes)
    return admin_webinars.WebinarInput(**values)
