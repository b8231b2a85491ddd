"""Auto webinars: a poll opens at a point of the recording for each viewer and counts per
cohort. Results pushes are coalesced: many answers, one shared frame per interval."""
from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from portal.autowebinar import store
from portal.db_types import utcnow
from portal.extensions import db
from portal.polls import fragments, push, service
from portal.polls.models import PollVote
from portal.polls.results import results
from portal.registration import service as registration
from portal.room.channels import console_channel, room_channel
from tests.realtime.conftest import wait_for
from tests.room.conftest import register


@pytest.fixture
def auto(make):
    speaker = make.user(role="speaker")
    return {"speaker": speaker, "webinar": make.webinar(type="auto", status="live", speakers=(speaker,),
                                                        recording_duration_sec=600)}


def viewer(webinar, *, start, position=None, n=[0]):  # noqa: B006 - a counter across calls
    """A registrant of cohort `start` (a scheduled start, or None: watch now) at `position`."""
    n[0] += 1
    reg = registration.register(webinar, name=f"V{n[0]}", email=f"v{n[0]}@example.com",
                                starts_at=start if start is not None else utcnow().replace(microsecond=1)).registration
    if position is not None:
        store.put(reg.lead_id, reg.webinar_id, {"session_id": f"s-{n[0]}", "started_at": utcnow() - timedelta(hours=1),
                                                "last_position_sec": position})
        db.session.commit()
    return reg


def timed_poll(auto, **kw):
    poll = service.create(auto["webinar"], actor=auto["speaker"], question="Useful so far?",
                          options=["Yes", "No"], at="2:00", open_sec="60", **kw)
    return service.open_poll(poll, actor=auto["speaker"])


def test_a_timed_poll_needs_its_point_of_the_recording(app, auto):
    with pytest.raises(service.Invalid, match="at which point of the recording"):
        service.create(auto["webinar"], actor=auto["speaker"], question="Q", options=["a", "b"])
    with pytest.raises(service.Invalid, match="recording is shorter"):
        service.create(auto["webinar"], actor=auto["speaker"], question="Q", options=["a", "b"], at="20:00")
    assert timed_poll(auto).at_sec == 120


def test_answers_are_taken_only_in_the_viewers_window(app, auto, pushes):
    poll = timed_poll(auto)
    start = (utcnow() - timedelta(hours=1)).replace(second=0, microsecond=0)
    early, on_time, late = (viewer(auto["webinar"], start=start, position=p) for p in (60, 130, 400))
    unstarted = viewer(auto["webinar"], start=start)
    pushes.clear()
    for reg, message in ((early, "not open yet"), (unstarted, "not open yet"), (late, "This poll is closed")):
        with pytest.raises(service.Conflict, match=message):
            service.answer(reg, poll.poll_id, [poll.options[0].option_id])
        db.session.rollback()
    assert not pushes.sent and not db.session.scalars(select(PollVote)).all()
    service.answer(on_time, poll.poll_id, [poll.options[0].option_id])
    [vote] = db.session.scalars(select(PollVote)).all()
    assert vote.cohort == store.encode(start)


def test_results_are_counted_and_pushed_per_cohort(app, auto, pushes):
    app.extensions[push.EXTENSION].interval = 0
    poll = timed_poll(auto)
    yes, no = (o.option_id for o in poll.options)
    first = (utcnow() - timedelta(hours=1)).replace(second=0, microsecond=0)
    second = first + timedelta(minutes=15)
    a, b = viewer(auto["webinar"], start=first, position=130), viewer(auto["webinar"], start=first, position=125)
    c = viewer(auto["webinar"], start=second, position=121)
    solo = viewer(auto["webinar"], start=None, position=150)
    pushes.clear()
    service.answer(a, poll.poll_id, [yes])
    service.answer(b, poll.poll_id, [yes])
    service.answer(c, poll.poll_id, [no])
    room = pushes.to(room_channel(auto["webinar"].webinar_id))
    assert len(room) == 3
    tag_first, tag_second = fragments.cohort_tag(store.encode(first)), fragments.cohort_tag(store.encode(second))
    assert f'id="poll-results-{poll.poll_id}{tag_first}"' in room[1] and "100% · 2" in room[1]
    assert f'id="poll-results-{poll.poll_id}{tag_second}"' in room[2] and "100% · 1" in room[2]
    pushes.clear()
    service.answer(solo, poll.poll_id, [no])  # a watch-now viewer's cohort is theirs alone
    assert not pushes.to(room_channel(auto["webinar"].webinar_id))
    assert pushes.to(console_channel(auto["webinar"].webinar_id))  # the host sees every answer
    assert [r.count for r in results(poll).rows] == [2, 2]
    assert [r.count for r in results(poll, cohort=store.encode(first)).rows] == [2, 0]


def test_many_answers_make_one_results_push_per_interval(app, make, pushes):
    pusher = app.extensions[push.EXTENSION]
    pusher.interval = 0.3
    speaker = make.user(role="speaker")
    webinar = make.webinar(status="live", speakers=(speaker,))
    poll = service.open_poll(service.create(webinar, actor=speaker, question="Q", options=["a", "b"]), actor=speaker)
    people = [register(webinar).reg for _ in range(30)]
    pushes.clear()
    began = time.monotonic()
    for i, reg in enumerate(people):
        service.answer(reg, poll.poll_id, [poll.options[i % 2].option_id])
    elapsed = time.monotonic() - began
    time.sleep(pusher.interval + 0.3)
    # A busy test machine may push the last results later than a quiet one: wait for them.
    wait_for(lambda: "30 answers" in (pushes.to(room_channel(webinar.webinar_id)) or [""])[-1],
             what="the push with every answer")
    room = pushes.to(room_channel(webinar.webinar_id))
    assert 1 <= len(room) <= int(elapsed / pusher.interval) + 2
    assert "50% · 15" in room[-1] and "30 answers" in room[-1]  # the last push has every answer


def test_the_auto_room_page_carries_the_timed_poll_and_the_report_counts_per_cohort(app, auto, make, client):
    from tests.polls.conftest import logged_in

    poll = timed_poll(auto)
    start = (utcnow() - timedelta(hours=1)).replace(second=0, microsecond=0)
    done = registration.register(auto["webinar"], name="Page", email="page@example.com", starts_at=start)
    page = client.get(f"/room/{done.token}").get_data(as_text=True)
    # Shown by the page's script from 2:00 to 3:00 of the recording; answerable by the server's rule.
    assert f'id="poll-{poll.poll_id}"' in page and 'data-poll-at="120" data-poll-until="180" hidden' in page
    assert "js/polls.js" in page
    reg = viewer(auto["webinar"], start=start, position=130)
    service.answer(reg, poll.poll_id, [poll.options[1].option_id])
    solo = viewer(auto["webinar"], start=None, position=140)
    service.answer(solo, poll.poll_id, [poll.options[0].option_id])

    report = logged_in(app, make.user(role="admin")).get(
        f"/admin/webinars/{auto['webinar'].webinar_id}/polls").get_data(as_text=True)
    assert "Per cohort" in report and "Watch now (each viewer on their own)" in report
    assert f'datetime="{start.isoformat()}"' in report  # the scheduled cohort, by its start
    assert report.count("100% · 1") == 2 and "2 answers" in report


def test_a_slow_render_does_not_bring_the_next_push_nearer(app, make, monkeypatch):
    """Answers keep coming while a push renders slowly: two pushes of a poll stay `interval` apart."""
    from portal import realtime

    pusher = app.extensions[push.EXTENSION]
    pusher.interval = 0.3
    published: list[float] = []
    real_publish, real_push = realtime.publish, push.push_results

    def record(channel: str, html: str) -> None:
        if channel.startswith("room:") and "poll-results" in html:
            published.append(time.monotonic())
        real_publish(channel, html)

    calls = []

    def slow_push(*args, **kwargs) -> None:
        calls.append(1)
        if len(calls) % 2:  # every other render is slow (a loaded machine), the next one quick
            time.sleep(0.25)
        real_push(*args, **kwargs)

    monkeypatch.setattr(realtime, "publish", record)
    monkeypatch.setattr(push, "push_results", slow_push)
    speaker = make.user(role="speaker")
    webinar = make.webinar(status="live", speakers=(speaker,))
    poll = service.open_poll(service.create(webinar, actor=speaker, question="Q", options=["a", "b"]), actor=speaker)
    people = [register(webinar).reg for _ in range(20)]
    for reg in people:
        service.answer(reg, poll.poll_id, [poll.options[0].option_id])
        time.sleep(0.06)
    time.sleep(1.2)
    gaps = [b - a for a, b in zip(published, published[1:], strict=False)]
    assert len(published) >= 2 and min(gaps) >= pusher.interval - 0.02, gaps
