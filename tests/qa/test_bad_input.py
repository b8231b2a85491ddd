"""Bad input to the Q&A: refused with a clear message, nothing stored, nothing pushed."""
from __future__ import annotations

import pytest

from portal.qa import sockets
from portal.room import moderation
from portal.room.channels import console_channel, room_channel
from tests.qa.conftest import ask, hx_post, logged_in, register, room_socket, stored, vote, votes_stored

pytestmark = pytest.mark.usefixtures("inline_pushes")


def refused(response, status: int, message: str) -> None:
    assert response.status_code == status
    html = response.get_data(as_text=True)
    assert 'id="qa-feedback"' in html and message in html, html


@pytest.mark.parametrize(("body", "message"), [
    ("", "Type a message first."),
    ("   \u200b\n ", "Type a message first."),
    ("x" * 1001, "Messages are limited to 1,000 characters."),
    ("x" * 100_000, "Messages are limited to 1,000 characters."),
])
def test_empty_and_oversized_questions(app, client, cast, pushes, body, message):
    alice = register(cast["webinar"])
    refused(ask(client, alice, body), 422, message)
    assert stored() == [] and pushes.sent == []


def test_asking_too_fast_is_limited_like_chat(app, client, cast, pushes):
    alice = register(cast["webinar"])
    for n in range(5):
        assert ask(client, alice, f"question {n}").status_code == 200
    pushes.clear()
    response = ask(client, alice, "one more")
    refused(response, 429, "You are sending messages too fast.")
    assert response.headers["Retry-After"]
    assert len(stored()) == 5 and pushes.sent == []


def test_an_upvote_storm_is_cut_off(app, client, cast, pushes):
    w = cast["webinar"]
    alice, bob = register(w), register(w)
    ask(client, alice, "vote for me")
    [q] = stored()
    for n in range(20):  # up, down, up ...: each a change, within the limit
        assert vote(client, bob, q.question_id, up=n % 2 == 0).status_code == 200
    pushes.clear()
    refused(vote(client, bob, q.question_id, up=True), 429, "You are voting too fast.")
    assert votes_stored() == 0 and stored()[0].votes == 0 and pushes.sent == []


@pytest.mark.parametrize("forged", ["abc", "-1", "1.5", "99999999", "9" * 40, ""])
def test_forged_question_ids(app, client, cast, pushes, forged):
    alice = register(cast["webinar"])
    refused(vote(client, alice, forged), 404, "This question does not exist.")
    assert votes_stored() == 0 and pushes.sent == []


@pytest.mark.parametrize("payload", [
    {"question_id": "1 OR 1=1", "up": True}, {"question_id": True, "up": True}, {"question_id": [1], "up": True},
    {"question_id": {"id": 1}, "up": True}, {}, {"question_id": 10**30, "up": True},
])
def test_forged_socket_frames(app, client, cast, pushes, payload):
    alice = register(cast["webinar"])
    ask(client, alice, "real one")
    pushes.clear()
    ctx = room_socket(alice.reg)
    sockets.on_vote(ctx, {"type": "qa_vote", **payload})
    assert "This question does not exist." in ctx.sent[-1] and 'data-outcome="error"' in ctx.sent[-1]
    assert votes_stored() == 0 and pushes.sent == []


def test_votes_on_another_webinars_question(app, client, cast, make, pushes):
    w, other = cast["webinar"], make.webinar(status="live")
    alice, stranger = register(w), register(other)
    ask(client, alice, "here only")
    [q] = stored()
    pushes.clear()
    refused(vote(client, stranger, q.question_id), 404, "This question does not exist.")
    ctx = room_socket(stranger.reg)
    sockets.on_vote(ctx, {"type": "qa_vote", "question_id": q.question_id, "up": True})
    assert "This question does not exist." in ctx.sent[-1]
    assert votes_stored() == 0 and pushes.sent == []


def test_another_webinars_host_cannot_touch_the_question(app, client, cast, pushes):
    w = cast["webinar"]
    alice = register(w)
    ask(client, alice, "who may hide me?")
    [q] = stored()
    pushes.clear()
    outsider = logged_in(app, cast["other_speaker"])
    for verb in ("approve", "hide", "answering"):
        assert hx_post(outsider, "/console/", f"/console/{w.webinar_id}/qa/{q.question_id}/{verb}").status_code == 403
    assert hx_post(outsider, "/console/", f"/console/{w.webinar_id}/qa/settings", {"moderated": "1"}).status_code == 403
    anonymous = app.test_client()
    assert anonymous.post(f"/console/{w.webinar_id}/qa/{q.question_id}/hide").status_code in (302, 400, 401)
    [after] = stored()
    assert (after.moderation_status, after.answer_state) == ("visible", "open") and pushes.sent == []


def test_a_question_of_another_webinar_is_not_found_from_this_console(app, client, cast, make, pushes):
    other = make.webinar(status="live", speakers=(cast["speaker"],))
    stranger = register(other)
    ask(client, stranger, "elsewhere")
    [q] = stored()
    pushes.clear()
    host = logged_in(app, cast["speaker"])
    console = f"/console/{cast['webinar'].webinar_id}"
    assert hx_post(host, console, f"{console}/qa/{q.question_id}/hide").status_code == 404
    assert stored()[0].moderation_status == "visible" and pushes.sent == []


@pytest.mark.parametrize("how", ["revoked", "cancelled", "banned"])
def test_dead_links_ask_and_vote_nothing(app, client, cast, pushes, how):
    from portal.admin import registrations
    from portal.extensions import db
    from portal.room import seat

    w = cast["webinar"]
    alice, bob = register(w), register(w)
    ask(client, alice, "still here?")
    [q] = stored()
    ctx = room_socket(bob.reg)
    if how == "revoked":
        registrations.revoke(bob.reg, actor=cast["owner"])
    elif how == "cancelled":
        seat.cancel(bob.reg)
    else:
        moderation.ban(w, bob.reg.lead_id, actor=cast["speaker"])
    db.session.commit()
    pushes.clear()
    assert ask(client, bob, "let me in").status_code == 404
    assert vote(client, bob, q.question_id).status_code == 404
    sockets.on_vote(ctx, {"type": "qa_vote", "question_id": q.question_id, "up": True})
    assert "You can no longer take part in this webinar." in ctx.sent[-1]
    assert len(stored()) == 1 and votes_stored() == 0 and pushes.sent == []


def test_a_muted_attendee_cannot_vote(app, client, cast, pushes):
    w = cast["webinar"]
    alice, bob = register(w), register(w)
    ask(client, alice, "count me")
    [q] = stored()
    moderation.set_muted(w, bob.reg.lead_id, muted=True, actor=cast["speaker"])
    pushes.clear()
    refused(vote(client, bob, q.question_id), 403, "You cannot vote in this webinar.")
    assert votes_stored() == 0 and pushes.sent == []


def test_a_staff_account_behind_a_join_link_cannot_ask(app, client, cast, pushes):
    from portal.extensions import db

    w = cast["webinar"]
    alice = register(w)
    alice.reg.lead.role = "speaker"
    db.session.commit()
    refused(ask(client, alice, "from the team"), 403, "Team members post from the speaker console")
    assert stored() == [] and pushes.sent == []


def test_a_finished_room_takes_no_questions(app, client, cast, make, pushes):
    w = cast["webinar"]
    alice = register(w)
    make.bring_to(w, "finished")
    pushes.clear()
    refused(ask(client, alice, "too late"), 409, "Questions are closed.")
    assert stored() == [] and pushes.to(room_channel(w.webinar_id)) == [] \
        and pushes.to(console_channel(w.webinar_id)) == []
