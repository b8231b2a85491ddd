"""Replay as it happened: the chat and the CTA appear at the second of the recording they
happened, registrants (and, when allowed, anyone) watch, visits count as replay attendance."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from portal.attendance.models import Attendance, LiveSession
from portal.core import lifecycle
from portal.core.models import OutboxEvent
from portal.core.permissions import SYSTEM
from portal.db_types import utcnow
from portal.extensions import db
from portal.media import recordings
from portal.replay import service
from portal.room.models import ChatMessage


@pytest.fixture
def ended(make, attendee):
    """A live run: a message at 0:30, the CTA shown at 0:45; ended; the recording linked."""
    owner = make.user(role="organizer")
    webinar = make.webinar(owner=owner, status="scheduled")
    guest = attendee(webinar)
    make.bring_to(webinar, "live")
    start = utcnow() - timedelta(seconds=100)  # the run began 100 s ago: its facts lie in the past
    webinar.started_at = start
    db.session.execute(update(LiveSession).values(started_at=start))
    db.session.add(ChatMessage(webinar_id=webinar.webinar_id, author_id=guest.reg.lead_id,
                               message_body="Hello at thirty", created_at=start + timedelta(seconds=30)))
    lifecycle.core_webinar_set_cta_visibility(webinar, "visible", actor=SYSTEM)
    db.session.execute(update(OutboxEvent).where(OutboxEvent.event == "webinar_cta_visibility_changed")
                       .values(occurred_at=start + timedelta(seconds=45)))
    db.session.commit()
    make.bring_to(webinar, "finished")
    return owner, webinar, guest


def _attach(webinar, owner):
    recordings.attach_link(webinar, "/static/demo/auto.mp4", actor=owner)


def test_no_replay_until_a_recording_is_attached(client, ended):
    _, _, guest = ended
    assert client.get(f"/replay/{guest.token}").status_code == 404
    assert 'data-testid="replay-link"' not in client.get(guest.url).get_data(as_text=True)


def test_chat_and_cta_appear_at_their_moment(client, ended):
    owner, webinar, guest = ended
    _attach(webinar, owner)
    room = client.get(guest.url).get_data(as_text=True)
    assert f'href="/replay/{guest.token}"' in room  # from the ended screen, by clicking
    page = client.get(f"/replay/{guest.token}")
    html = page.get_data(as_text=True)
    assert 'data-testid="replay"' in html and "Hello at thirty" not in html  # not one dump
    assert "/static/demo/auto.mp4" in html
    visit = html.split("v=", 1)[1].split('"', 1)[0]
    early = client.get(f"/replay/{guest.token}/timeline?t=10&v={visit}").get_data(as_text=True)
    assert "Hello at thirty" not in early and 'data-testid="cta"' not in early
    mid = client.get(f"/replay/{guest.token}/timeline?t=31&v={visit}").get_data(as_text=True)
    assert "Hello at thirty" in mid and 'data-testid="cta"' not in mid
    late = client.get(f"/replay/{guest.token}/timeline?t=50&v={visit}").get_data(as_text=True)
    assert "Hello at thirty" in late and 'data-testid="cta"' in late


def test_a_replay_visit_is_counted_apart_from_live_attendance(client, ended):
    owner, webinar, guest = ended
    _attach(webinar, owner)
    client.get(f"/replay/{guest.token}")
    rows = service.replay_visits(webinar.webinar_id)
    assert len(rows) == 1 and rows[0].lead_id == guest.reg.lead_id and rows[0].left_at is None
    assert service.is_replay_visit(rows[0])
    live_rows = db.session.scalars(select(Attendance).where(~Attendance.connection_id.startswith("replay:"))).all()
    assert all(not service.is_replay_visit(r) for r in live_rows)


def test_the_cta_can_be_clicked_only_once_shown(client, auth, ended):
    owner, webinar, guest = ended
    _attach(webinar, owner)
    token = auth.csrf(f"/replay/{guest.token}")
    refused = client.post(f"/replay/{guest.token}/cta", data={"t": "10", "csrf_token": token})
    assert refused.status_code == 409
    assert not db.session.scalars(select(OutboxEvent).where(OutboxEvent.event == "client_webinar_cta_clicked")).all()
    clicked = client.post(f"/replay/{guest.token}/cta", data={"t": "50", "csrf_token": token})
    assert clicked.status_code == 303 and clicked.headers["Location"] == "https://example.com/buy"
    event = db.session.scalars(select(OutboxEvent).where(OutboxEvent.event == "client_webinar_cta_clicked")).one()
    assert event.data["replay_at"] == 50 and event.lead_id == guest.reg.lead_id


@pytest.mark.parametrize("t", ["-1", "nan", "inf", "abc"])
def test_forged_times_are_refused(client, ended, t):
    owner, webinar, guest = ended
    _attach(webinar, owner)
    assert client.get(f"/replay/{guest.token}/timeline?t={t}").status_code == 422


def test_public_replay_is_a_setting(client, as_user, ended):
    owner, webinar, _ = ended
    _attach(webinar, owner)
    assert client.get(f"/w/{webinar.slug}/replay").status_code == 404
    assert 'data-testid="replay-link"' not in client.get(f"/w/{webinar.slug}").get_data(as_text=True)
    response = as_user(owner).post(f"/admin/webinars/{webinar.webinar_id}/recording/replay", {"public_replay": "y"})
    assert response.status_code == 303
    assert f'href="/w/{webinar.slug}/replay"' in client.get(f"/w/{webinar.slug}").get_data(as_text=True)
    assert 'data-testid="replay"' in client.get(f"/w/{webinar.slug}/replay").get_data(as_text=True)
    assert "Hello at thirty" in client.get(f"/w/{webinar.slug}/replay/timeline?t=40").get_data(as_text=True)


def test_bad_tokens_and_other_webinars_get_nothing(client, make):
    assert client.get("/replay/not-a-token").status_code == 404
    live = make.webinar(status="scheduled")
    assert client.get(f"/w/{live.slug}/replay").status_code == 404


def test_replay_url_for_the_thank_you_mail(app, ended):
    from portal.replay.links import replay_url

    owner, webinar, guest = ended
    with app.test_request_context():
        assert replay_url(webinar, guest.token) is None
        _attach(webinar, owner)
        assert replay_url(webinar, guest.token, external=True).endswith(f"/replay/{guest.token}")


def test_the_thank_you_mail_hook_links_a_public_replay(app, as_user, ended):
    from portal.mail import reminders

    owner, webinar, _ = ended
    with app.app_context():
        assert reminders.replay_link(webinar) is None  # no recording yet
        _attach(webinar, owner)
        assert reminders.replay_link(webinar) is None  # registrants only: their join link's ended screen
    as_user(owner).post(f"/admin/webinars/{webinar.webinar_id}/recording/replay", {"public_replay": "y"})
    with app.app_context():
        assert reminders.replay_link(webinar) == f"http://localhost/w/{webinar.slug}/replay"


def test_the_attendance_report_marks_replay_visits(client, as_user, ended):
    owner, webinar, guest = ended
    _attach(webinar, owner)
    report = as_user(owner).get(f"/admin/webinars/{webinar.webinar_id}/attendance").get_data(as_text=True)
    assert 'data-testid="replay-visit"' not in report
    client.get(f"/replay/{guest.token}")
    report = as_user(owner).get(f"/admin/webinars/{webinar.webinar_id}/attendance").get_data(as_text=True)
    assert report.count('data-testid="replay-visit"') == 1


def test_attaching_the_replay_announces_it_after_commit(app, ended):
    from portal import signals
    from portal.replay.links import mail_replay_url

    owner, webinar, guest = ended
    heard: list[tuple] = []
    signals.connect(app, signals.recording_attached,
                    lambda sender, **kw: heard.append((sender, kw["replay"], kw["recording_id"])))
    with app.app_context():
        assert mail_replay_url(webinar, guest.token) is None
    _attach(webinar, owner)
    recording = recordings.current(webinar)
    assert heard == [(webinar.webinar_id, True, recording.recording_id)]
    with app.app_context():
        assert mail_replay_url(webinar, guest.token) == f"http://localhost/replay/{guest.token}"


def test_an_unchanged_timeline_answers_204(client, ended):
    owner, webinar, guest = ended
    _attach(webinar, owner)
    first = client.get(f"/replay/{guest.token}/timeline?t=31").get_data(as_text=True)
    shown = first.split('data-replay-key="', 1)[1].split('"', 1)[0]
    assert client.get(f"/replay/{guest.token}/timeline?t=40&k={shown}").status_code == 204  # nothing new
    later = client.get(f"/replay/{guest.token}/timeline?t=50&k={shown}")  # the CTA appeared at 0:45
    assert later.status_code == 200 and 'data-testid="cta"' in later.get_data(as_text=True)


def test_questions_answers_and_poll_results_appear_at_their_moment(client, ended):
    """Issue 13: questions, their answers and a closed poll's results join the chat and the
    CTA on the replay's timeline, each at its own second."""
    from portal.polls.models import Poll, PollOption, PollVote
    from portal.qa.models import Question

    owner, webinar, guest = ended
    start = webinar.started_at
    db.session.add(Question(webinar_id=webinar.webinar_id, author_id=guest.reg.lead_id, body="What about pricing?",
                            created_at=start + timedelta(seconds=20), answer_state="answered",
                            answer_body="Per seat, monthly.", answered_at=start + timedelta(seconds=60)))
    db.session.add(Question(webinar_id=webinar.webinar_id, author_id=guest.reg.lead_id, body="Hidden one",
                            created_at=start + timedelta(seconds=5), moderation_status="hidden"))
    poll = Poll(webinar_id=webinar.webinar_id, question="Which plan?", status="closed",
                opened_at=start + timedelta(seconds=50), closed_at=start + timedelta(seconds=70))
    poll.options = [PollOption(position=0, label="Solo"), PollOption(position=1, label="Team")]
    db.session.add(poll)
    db.session.flush()
    db.session.add(PollVote(poll_id=poll.poll_id, option_id=poll.options[1].option_id, lead_id=guest.reg.lead_id,
                            registration_id=guest.reg.registration_id, cohort=""))
    db.session.commit()
    _attach(webinar, owner)
    html = client.get(f"/replay/{guest.token}").get_data(as_text=True)
    visit = html.split("v=", 1)[1].split('"', 1)[0]

    def at(t: int) -> str:
        return client.get(f"/replay/{guest.token}/timeline?t={t}&v={visit}").get_data(as_text=True)

    assert "What about pricing?" not in at(10)
    asked = at(25)
    assert "What about pricing?" in asked and "Per seat, monthly." not in asked and "Hidden one" not in asked
    answered = at(65)
    assert "Per seat, monthly." in answered and 'data-testid="poll-results"' not in answered
    closed = at(75)
    assert 'data-testid="poll-results"' in closed and "Which plan?" in closed and "100% · 1" in closed
