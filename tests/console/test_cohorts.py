"""Issue 12 point 10: evergreen chat per cohort. Before, every viewer of every day shared one
chat: these tests failed then (one channel, one history, host answers to everybody)."""
from __future__ import annotations

from portal.console import service
from portal.db_types import utcnow
from portal.registration import choices
from portal.registration import service as registration
from portal.room import chat, cohorts
from portal.room.channels import console_channel, room_channel
from tests.console.test_console import logged_in


def _auto(make):
    w = make.webinar(type="auto", status="live")
    now = utcnow()
    scheduled = [c for c in choices.offered(w, now=now) if c.kind != "now"]
    first, second = (choices.resolve(w, c.value, now=now).starts_at for c in scheduled[:2])
    watch_now = choices.resolve(w, "now", now=now).starts_at

    def reg(name: str, starts_at):
        email = f"{name.lower()}@example.com"
        return registration.register(w, name=name, email=email, starts_at=starts_at).registration

    return w, reg("Ann", first), reg("Ada", first), reg("Bob", second), reg("Wes", watch_now)


def test_same_scheduled_start_is_one_cohort_watch_now_is_alone(app, make):
    w, ann, ada, bob, wes = _auto(make)
    assert cohorts.of(ann) == cohorts.of(ada)
    assert cohorts.of(ann).session_id != cohorts.of(bob).session_id
    alone = cohorts.of(wes)
    assert alone.watch_now and alone.session_id == f"r{wes.registration_id}"
    assert len({cohorts.channel_of(r) for r in (ann, bob, wes)}) == 3
    assert room_channel(w.webinar_id) not in {cohorts.channel_of(r) for r in (ann, bob, wes)}


def test_a_cohort_sees_only_its_own_chat(app, make, pushes):
    w, ann, ada, bob, _ = _auto(make)
    message = chat.post(ann, "hello 1st cohort")
    assert message.session_id == cohorts.of(ann).session_id
    assert any("hello 1st cohort" in h for h in pushes.to(cohorts.channel_of(ada)))
    assert not any("hello 1st cohort" in h for h in pushes.to(cohorts.channel_of(bob)))
    seen = lambda r: [m.message_body for m in chat.messages_for(  # noqa: E731
        w.webinar_id, viewer_lead_id=r.lead_id, session_id=cohorts.of(r).session_id)]
    assert seen(ada) == ["hello 1st cohort"] and seen(bob) == []


def test_watch_now_messages_reach_the_hosts_and_their_answer_only_that_viewer(app, make, pushes):
    w, ann, _, _, wes = _auto(make)
    speaker = make.user(role="admin")
    alone = cohorts.of(wes)
    chat.post(wes, "is there a replay?")
    key = cohorts.channel_key(w.webinar_id, alone.session_id)
    assert any("is there a replay?" in h for h in pushes.to(console_channel(w.webinar_id, key)))
    assert not any("is there a replay?" in h for h in pushes.to(cohorts.channel_of(ann)))
    pushes.clear()
    answer = service.post_message(speaker, w, "yes, tomorrow", cohort=alone.session_id)
    assert answer.session_id == alone.session_id and answer.posted_as_host
    assert any("yes, tomorrow" in h for h in pushes.to(cohorts.channel_of(wes)))
    assert not any("yes, tomorrow" in h for h in pushes.to(cohorts.channel_of(ann)))


def test_the_console_picks_the_cohort_it_watches(app, make):
    w, ann, _, _, wes = _auto(make)
    chat.post(ann, "from the first cohort")
    chat.post(wes, "from the watch-now viewer")
    client, _ = logged_in(app, make.user(role="admin"))
    page = client.get(f"/console/{w.webinar_id}?cohort=r{wes.registration_id}").get_data(as_text=True)
    assert 'data-testid="console-cohort"' in page and "Watch now: Wes" in page
    assert "from the watch-now viewer" in page and "from the first cohort" not in page
    page = client.get(f"/console/{w.webinar_id}?cohort={cohorts.of(ann).session_id}").get_data(as_text=True)
    assert "from the first cohort" in page and "from the watch-now viewer" not in page
    # A cohort of another webinar (or made up) falls back to the first cohort: nothing leaks.
    page = client.get(f"/console/{w.webinar_id}?cohort=r999999").get_data(as_text=True)
    assert "from the watch-now viewer" not in page



def test_a_watch_now_message_reaches_consoles_watching_another_cohort(app, make, pushes):
    w, ann, _, _, wes = _auto(make)
    presence_of = cohorts.channel_key(w.webinar_id, cohorts.of(ann).session_id)
    chat.post(wes, "anyone there?")
    notices = [h for h in pushes.to(console_channel(w.webinar_id, presence_of)) if "console-cohort-notice" in h]
    assert notices and f"cohort=r{wes.registration_id}" in notices[-1] and "Wes" in notices[-1]
    pushes.clear()
    chat.post(ann, "a shared-cohort message")  # a shared cohort's message raises no notice
    assert not any("console-cohort-notice" in h for ch, h in pushes.sent)
