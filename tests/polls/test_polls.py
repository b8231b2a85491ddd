"""Polls: prepared in the console, opened and closed live, answered once per attendee
(changeable), results pushed; every bad input refused with a message, nothing stored or pushed."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from portal.core import lifecycle
from portal.core.permissions import SYSTEM
from portal.extensions import db
from portal.polls import service
from portal.polls.models import Poll, PollVote
from portal.polls.results import results
from portal.registration.models import Registration
from portal.room.channels import console_channel, room_channel
from tests.conftest import csrf_token_from
from tests.polls.conftest import hx_post, logged_in
from tests.room.conftest import register


def votes() -> list[tuple[int, int]]:
    db.session.expire_all()
    return list(db.session.execute(select(PollVote.lead_id, PollVote.option_id).order_by(PollVote.vote_id)).all())


def make_poll(cast, *, options=("Yes", "No", "Maybe"), status="open", **kw) -> Poll:
    poll = service.create(cast["webinar"], actor=cast["speaker"], question="Ready?", options=list(options), **kw)
    if status in ("open", "closed"):
        service.open_poll(poll, actor=cast["speaker"])
    if status == "closed":
        service.close_poll(poll, actor=cast["speaker"])
    return poll


def vote(client, attendee, poll_id, *option_ids):
    token = csrf_token_from(client.get(attendee.url).get_data(as_text=True))
    return client.post(f"{attendee.url}/polls/{poll_id}", data={"option": [str(o) for o in option_ids]},
                       headers={"X-CSRFToken": token, "HX-Request": "true"})


def opt(poll: Poll, n: int) -> int:
    return poll.options[n].option_id


# --- the host ------------------------------------------------------------------------------

def test_the_speaker_prepares_opens_and_closes_a_poll_from_the_console(app, cast, pushes, inline_results):
    client = logged_in(app, cast["speaker"])
    wid = cast["webinar"].webinar_id
    page = f"/console/{wid}"
    assert 'data-testid="console-polls"' in client.get(page).get_data(as_text=True)
    created = hx_post(client, page, f"/console/{wid}/polls",
                      {"question": "Which topic next?", "options": "Pricing\n\nRoadmap\nHiring\n",
                       "results_mode": "live"})
    assert created.status_code == 200
    poll = db.session.scalar(select(Poll))
    assert [o.label for o in poll.options] == ["Pricing", "Roadmap", "Hiring"] and poll.status == "draft"
    assert not pushes.to(room_channel(wid))  # a draft: attendees see nothing
    pushed = pushes.to(console_channel(wid))[-1]
    assert "Which topic next?" in pushed and 'data-testid="console-poll-form"' not in pushed
    a = register(cast["webinar"])
    assert 'data-testid="poll"' not in client.get(a.url).get_data(as_text=True)

    assert hx_post(client, page, f"/console/{wid}/polls/{poll.poll_id}/open").status_code == 200
    [opened] = pushes.to(room_channel(wid))
    assert 'data-testid="poll"' in opened and opened.count('data-testid="poll-option"') == 3 * 2  # en + ru
    assert 'data-lang="en"' in opened and 'data-lang="ru"' in opened
    pushes.clear()
    assert hx_post(client, page, f"/console/{wid}/polls/{poll.poll_id}/close").status_code == 200
    [closed] = pushes.to(room_channel(wid))
    assert 'data-testid="poll-option"' not in closed and 'data-testid="poll-results"' in closed
    db.session.refresh(poll)
    assert poll.status == "closed" and poll.closed_at is not None


@pytest.mark.parametrize("fields,message", [
    ({"question": "", "options": "a\nb"}, "Type the poll&#39;s question."),
    ({"question": "Q", "options": "only one"}, "A poll needs at least 2 options."),
    ({"question": "Q", "options": "\n".join(f"o{i}" for i in range(11))}, "A poll has at most 10 options."),
    ({"question": "Q", "options": "x" * 201 + "\nb"}, "An option is limited to 200 characters."),
    ({"question": "Q" * 301, "options": "a\nb"}, "A poll&#39;s question is limited to 300 characters."),
    ({"question": "Q", "options": "a\na"}, "Two options have the same text."),
    ({"question": "Q", "options": "a\nb", "results_mode": "never"}, "Choose when attendees see the results."),
])
def test_a_bad_poll_is_refused_with_a_message_and_nothing_stored(app, cast, pushes, fields, message):
    client = logged_in(app, cast["speaker"])
    wid = cast["webinar"].webinar_id
    response = hx_post(client, f"/console/{wid}", f"/console/{wid}/polls", fields)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Poll)) == 0
    assert not pushes.sent


def test_only_the_webinars_staff_run_its_polls(app, cast, make):
    poll = make_poll(cast, status="draft")
    other = make.user(role="speaker")
    client = logged_in(app, other)
    response = hx_post(client, "/", f"/console/{cast['webinar'].webinar_id}/polls/{poll.poll_id}/open")
    assert response.status_code == 403
    db.session.refresh(poll)
    assert poll.status == "draft"


def test_another_webinars_poll_is_not_found_from_this_console(app, cast, make):
    other = make.webinar(status="live", speakers=(cast["speaker"],))
    poll = make_poll({"webinar": other, "speaker": cast["speaker"]}, status="draft")
    client = logged_in(app, cast["speaker"])
    wid = cast["webinar"].webinar_id
    assert hx_post(client, f"/console/{wid}", f"/console/{wid}/polls/{poll.poll_id}/open").status_code == 404
    db.session.refresh(poll)
    assert poll.status == "draft"


def test_a_closed_poll_cannot_be_opened_again_nor_an_open_one_deleted(app, cast):
    poll = make_poll(cast, status="open")
    with pytest.raises(service.Conflict, match="Only a prepared poll can be deleted"):
        service.delete_poll(poll, actor=cast["speaker"])
    service.close_poll(poll, actor=cast["speaker"])
    with pytest.raises(service.Conflict, match="Only a prepared poll can be opened"):
        service.open_poll(poll, actor=cast["speaker"])


# --- attendees -----------------------------------------------------------------------------

def test_one_answer_per_attendee_changeable_while_open_and_results_pushed(client, cast, pushes, inline_results):
    poll = make_poll(cast)
    a, b = register(cast["webinar"]), register(cast["webinar"])
    page = client.get(a.url).get_data(as_text=True)
    assert 'data-testid="poll"' in page and page.count('data-testid="poll-option"') == 3
    pushes.clear()
    response = vote(client, a, poll.poll_id, opt(poll, 0))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Your answer is saved" in html and "checked" in html and 'data-testid="poll-results"' in html
    assert votes() == [(a.reg.lead_id, opt(poll, 0))]
    [room_push] = pushes.to(room_channel(cast["webinar"].webinar_id))
    assert f'id="poll-results-{poll.poll_id}"' in room_push and "100% · 1" in room_push
    assert pushes.to(console_channel(cast["webinar"].webinar_id))

    assert vote(client, a, poll.poll_id, opt(poll, 1)).status_code == 200  # changed her mind
    assert vote(client, b, poll.poll_id, opt(poll, 1)).status_code == 200
    assert votes() == [(a.reg.lead_id, opt(poll, 1)), (b.reg.lead_id, opt(poll, 1))]
    counts = results(poll)
    assert counts.voters == 2 and [r.count for r in counts.rows] == [0, 2, 0]


def test_multiple_choice_takes_several_options(client, cast):
    poll = make_poll(cast, multiple=True)
    a = register(cast["webinar"])
    assert vote(client, a, poll.poll_id, opt(poll, 0), opt(poll, 2)).status_code == 200
    assert sorted(o for _, o in votes()) == [opt(poll, 0), opt(poll, 2)]
    r = results(poll)
    assert r.voters == 1 and [row.percent for row in r.rows] == [100, 0, 100]


def test_results_after_close_stay_hidden_from_attendees_until_closed(client, cast, pushes, inline_results):
    poll = make_poll(cast, results_mode="after_close")
    a = register(cast["webinar"])
    pushes.clear()
    html = vote(client, a, poll.poll_id, opt(poll, 0)).get_data(as_text=True)
    assert 'data-testid="poll-results"' not in html and "shown when the poll closes" in html
    assert not pushes.to(room_channel(cast["webinar"].webinar_id))  # results went to the console only
    assert pushes.to(console_channel(cast["webinar"].webinar_id))
    service.close_poll(poll, actor=cast["speaker"])
    assert 'data-testid="poll-results"' in client.get(a.url).get_data(as_text=True)


def refused(client, attendee, poll_id, options, *, status, message, pushes):
    before = votes()
    pushes.clear()
    response = vote(client, attendee, poll_id, *options)
    assert response.status_code == status
    html = response.get_data(as_text=True)
    assert message in html
    assert f'id="poll-feedback-{poll_id}"' in html and "poll-feedback-error" in html  # under the poll
    assert votes() == before
    assert not pushes.sent


def test_a_vote_on_a_closed_poll_is_refused(client, cast, pushes, inline_results):
    poll = make_poll(cast, status="closed")
    refused(client, register(cast["webinar"]), poll.poll_id, [opt(poll, 0)], status=409,
            message="This poll is closed.", pushes=pushes)


def test_a_draft_or_another_webinars_poll_is_not_found(client, cast, make, pushes, inline_results):
    draft = make_poll(cast, status="draft")
    a = register(cast["webinar"])
    refused(client, a, draft.poll_id, [opt(draft, 0)], status=404, message="This poll does not exist.", pushes=pushes)
    other = make.webinar(status="live", speakers=(cast["speaker"],))
    theirs = make_poll({"webinar": other, "speaker": cast["speaker"]})
    refused(client, a, theirs.poll_id, [opt(theirs, 0)], status=404, message="This poll does not exist.", pushes=pushes)


@pytest.mark.parametrize("options,message", [
    (["999999"], "Choose one of the poll&#39;s options."),
    (["abc"], "Choose one of the poll&#39;s options."),
    ([], "Choose an option first."),
    ([str(i) for i in range(50)], "Choose one of the poll&#39;s options."),
])
def test_forged_missing_or_too_many_options_are_refused(client, cast, pushes, inline_results, options, message):
    poll = make_poll(cast)
    refused(client, register(cast["webinar"]), poll.poll_id, options, status=422, message=message, pushes=pushes)


def test_another_polls_option_is_refused(client, cast, pushes, inline_results):
    poll, other = make_poll(cast), make_poll(cast)
    refused(client, register(cast["webinar"]), poll.poll_id, [opt(other, 0)], status=422,
            message="Choose one of the poll&#39;s options.", pushes=pushes)


def test_two_options_on_a_single_choice_poll_are_refused(client, cast, pushes, inline_results):
    poll = make_poll(cast)
    refused(client, register(cast["webinar"]), poll.poll_id, [opt(poll, 0), opt(poll, 1)], status=422,
            message="This poll takes one option.", pushes=pushes)


def test_an_oversized_payload_is_refused(client, cast, pushes, inline_results):
    poll = make_poll(cast)
    a = register(cast["webinar"])
    token = csrf_token_from(client.get(a.url).get_data(as_text=True))
    pushes.clear()
    response = client.post(f"{a.url}/polls/{poll.poll_id}", data={"option": str(opt(poll, 0)), "pad": "x" * (3 << 20)},
                           headers={"X-CSRFToken": token, "HX-Request": "true"})
    assert response.status_code == 413
    assert votes() == [] and not pushes.sent


@pytest.mark.parametrize("how", ["revoked", "banned", "cancelled"])
def test_answers_from_dead_links_are_refused(client, cast, pushes, inline_results, how):
    from portal.db_types import utcnow

    poll = make_poll(cast)
    a = register(cast["webinar"])
    token = csrf_token_from(client.get(a.url).get_data(as_text=True))
    reg = db.session.get(Registration, a.reg.registration_id)
    if how == "revoked":
        reg.revoked_at = utcnow()
    elif how == "banned":
        reg.banned_at = utcnow()
    else:
        reg.cancelled_at = utcnow()
    db.session.commit()
    pushes.clear()
    response = client.post(f"{a.url}/polls/{poll.poll_id}", data={"option": str(opt(poll, 0))},
                           headers={"X-CSRFToken": token, "HX-Request": "true"})
    assert response.status_code == 404
    assert "This join link is not valid" in response.get_data(as_text=True)
    assert votes() == [] and not pushes.sent


def test_a_finished_webinars_open_poll_takes_no_answers(client, cast, pushes, inline_results):
    poll = make_poll(cast)
    a = register(cast["webinar"])
    lifecycle.core_webinar_set_status(cast["webinar"], "stop", actor=SYSTEM)
    pushes.clear()
    with pytest.raises(service.Conflict, match="This poll is closed"):
        service.answer(db.session.get(Registration, a.reg.registration_id), poll.poll_id, [opt(poll, 0)])
    assert votes() == [] and not pushes.to(room_channel(cast["webinar"].webinar_id))


def test_the_catch_up_snapshot_shows_the_viewers_own_answer(client, cast, inline_results):
    poll = make_poll(cast)
    a = register(cast["webinar"])
    vote(client, a, poll.poll_id, opt(poll, 2))
    client.get(a.url)  # the page (HTTP presence), then the polling state like a page without socket
    state = client.get(f"{a.url}/state").get_data(as_text=True)
    assert 'id="room-polls"' in state and 'hx-swap-oob="true"' in state
    assert f'value="{opt(poll, 2)}" checked' in state and "Change my answer" in state


def test_the_consoles_catch_up_has_the_polls(app, cast, inline_results):
    poll = make_poll(cast)
    service.answer(register(cast["webinar"]).reg, poll.poll_id, [opt(poll, 1)])
    from portal.console import fragments as console

    with app.test_request_context("/"):
        html = console.snapshot(cast["speaker"], cast["webinar"])
    assert 'id="console-poll-list"' in html and 'hx-swap-oob="true"' in html and "1 answer" in html
    assert 'data-testid="console-poll-form"' not in html  # a half-typed poll survives the catch-up
