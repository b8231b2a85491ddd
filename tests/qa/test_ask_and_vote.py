"""Attendees ask and upvote: the list everyone sees, sorted by votes then time; one vote per
attendee per question; pushes of the list, of the asker's own view and of the console."""
from __future__ import annotations

import re

import pytest

from portal.extensions import db
from portal.qa.models import Question
from portal.room.channels import console_channel, room_channel
from tests.qa.conftest import ask, register, stored, vote, votes_stored

pytestmark = pytest.mark.usefixtures("inline_pushes")


def list_ids(html: str) -> list[int]:
    """Question ids of the qa-list in `html`, in order."""
    block = re.search(r'<ol id="qa-list".*?</ol>', html, re.S)
    assert block, "no qa-list"
    return [int(i) for i in re.findall(r'data-question-id="(\d+)"', block.group(0))]


def item_of(html: str, question_id: int) -> str:
    return re.search(rf'<li id="qa-{question_id}".*?</li>', html, re.S).group(0)


def test_a_question_reaches_every_page_and_the_console(app, client, cast, pushes):
    w = cast["webinar"]
    alice, bob = register(w), register(w)
    response = ask(client, alice, "  How do I\nstart? ")
    assert response.status_code == 200
    [q] = stored()
    assert q.body == "How do I start?" and q.moderation_status == "visible"  # cleaned as chat
    assert f'id="qa-{q.question_id}"' in response.get_data(as_text=True)  # the asker sees it at once
    page = client.get(bob.url).get_data(as_text=True)
    assert 'data-testid="qa-form"' in page and list_ids(page) == [q.question_id]
    [room_push] = pushes.to(room_channel(w.webinar_id), everyone=True)
    assert list_ids(room_push) == [q.question_id] and 'data-lang="en"' in room_push
    assert any('data-testid="console-qa"' in h and "How do I start?" in h
               for h in pushes.to(console_channel(w.webinar_id)))


def test_one_vote_per_attendee_toggles_and_sorts_by_votes_then_time(app, client, cast, pushes):
    w = cast["webinar"]
    alice, bob, carol = register(w), register(w), register(w)
    ask(client, alice, "first")
    ask(client, alice, "second")
    first, second = stored()
    assert list_ids(client.get(bob.url).get_data(as_text=True)) == [first.question_id, second.question_id]
    answer = vote(client, bob, second.question_id)
    assert answer.status_code == 200
    assert list_ids(answer.get_data(as_text=True)) == [second.question_id, first.question_id]
    assert f'data-voted="{second.question_id}"' in answer.get_data(as_text=True)
    pushes.clear()
    assert vote(client, bob, second.question_id).status_code == 200  # the same vote again
    assert votes_stored() == 1 and stored()[1].votes == 1 and pushes.sent == []
    vote(client, carol, second.question_id)
    assert stored()[1].votes == 2
    vote(client, bob, second.question_id, up=False)  # withdrawn
    vote(client, carol, second.question_id, up=False)
    assert [q.votes for q in stored()] == [0, 0] and votes_stored() == 0
    assert list_ids(client.get(carol.url).get_data(as_text=True)) == [first.question_id, second.question_id]


def test_the_socket_frame_votes_and_answers_the_voter_alone(app, client, cast, pushes):
    from portal.qa import sockets
    from tests.qa.conftest import room_socket

    w = cast["webinar"]
    alice, bob = register(w), register(w)
    ask(client, alice, "over the socket?")
    [q] = stored()
    ctx = room_socket(bob.reg)
    sockets.on_vote(ctx, {"type": "qa_vote", "question_id": q.question_id, "up": True})
    assert stored()[0].votes == 1
    assert f'data-voted="{q.question_id}"' in ctx.sent[-1]
    assert 'data-votes="1"' in pushes.to(room_channel(w.webinar_id), everyone=True)[-1]


def test_answering_now_is_highlighted_for_everyone_and_one_at_a_time(app, client, cast, pushes):
    from tests.qa.conftest import hx_post, logged_in

    w = cast["webinar"]
    alice = register(w)
    ask(client, alice, "one")
    ask(client, alice, "two")
    one, two = stored()
    host = logged_in(app, cast["speaker"])
    console = f"/console/{w.webinar_id}"
    assert hx_post(host, console, f"{console}/qa/{one.question_id}/answering").status_code == 200
    assert 'class="qa-item qa-answering"' in pushes.to(room_channel(w.webinar_id), everyone=True)[-1]
    hx_post(host, console, f"{console}/qa/{two.question_id}/answering")
    assert [q.answer_state for q in stored()] == ["answered", "answering"]
    hx_post(host, console, f"{console}/qa/{two.question_id}/answered")
    assert [q.answer_state for q in stored()] == ["answered", "answered"]
    page = client.get(alice.url).get_data(as_text=True)
    assert page.count('data-testid="qa-answered"') == 2


def test_pages_catch_up_and_poll_the_list(app, client, cast):
    from portal.console import fragments as console_fragments
    from portal.room import fragments

    w = cast["webinar"]
    alice, bob = register(w), register(w)
    ask(client, alice, "missed while offline?")
    [q] = stored()
    vote(client, bob, q.question_id)
    with app.test_request_context("/"):
        snapshot = fragments.snapshot(bob.reg, w)
        console_snapshot = console_fragments.snapshot(cast["speaker"], w)
    assert list_ids(snapshot) == [q.question_id] and f'data-voted="{q.question_id}"' in snapshot
    assert 'data-testid="console-qa"' in console_snapshot
    state = client.get(f"{bob.url}/state").get_data(as_text=True)
    assert list_ids(state) == [q.question_id] and 'id="qa-votes"' in state


def test_a_moderated_webinar_holds_questions_until_approved(app, client, cast, pushes):
    from tests.qa.conftest import hx_post, logged_in

    w = cast["webinar"]
    host = logged_in(app, cast["speaker"])
    console = f"/console/{w.webinar_id}"
    assert hx_post(host, console, f"{console}/qa/settings", {"moderated": "1"}).status_code == 200
    alice, bob = register(w), register(w)
    pushes.clear()
    answer = ask(client, alice, "may I?").get_data(as_text=True)
    [q] = stored()
    assert q.moderation_status == "pending"
    assert 'data-testid="qa-waiting-item"' in answer and list_ids(answer) == []
    assert pushes.to(room_channel(w.webinar_id), everyone=True) == []  # nobody else is told
    assert list_ids(client.get(bob.url).get_data(as_text=True)) == []
    assert "console-qa-approve" in host.get(console).get_data(as_text=True)
    assert vote(client, bob, q.question_id).status_code == 404  # not public yet: like a forged id
    hx_post(host, console, f"{console}/qa/{q.question_id}/approve")
    assert stored()[0].moderation_status == "visible"
    assert list_ids(pushes.to(room_channel(w.webinar_id), everyone=True)[-1]) == [q.question_id]
    own = pushes.to(room_channel(w.webinar_id), member=alice.reg.lead_id)[-1]
    assert 'data-testid="qa-waiting-item"' not in own and list_ids(own) == [q.question_id]


def test_hidden_questions_leave_the_room_but_their_author_still_sees_them(app, client, cast, pushes):
    from tests.qa.conftest import hx_post, logged_in

    w = cast["webinar"]
    alice, bob = register(w), register(w)
    ask(client, alice, "rude words")
    [q] = stored()
    host = logged_in(app, cast["speaker"])
    console = f"/console/{w.webinar_id}"
    before = item_of(client.get(alice.url).get_data(as_text=True), q.question_id)
    pushes.clear()
    hx_post(host, console, f"{console}/qa/{q.question_id}/hide")
    assert list_ids(pushes.to(room_channel(w.webinar_id), everyone=True)[-1]) == []
    assert list_ids(pushes.to(room_channel(w.webinar_id), member=alice.reg.lead_id)[-1]) == [q.question_id]
    assert list_ids(client.get(alice.url).get_data(as_text=True)) == [q.question_id]
    assert list_ids(client.get(bob.url).get_data(as_text=True)) == []
    assert item_of(client.get(alice.url).get_data(as_text=True), q.question_id) == before  # told nothing
    hx_post(host, console, f"{console}/qa/{q.question_id}/unhide")
    assert list_ids(client.get(bob.url).get_data(as_text=True)) == [q.question_id]


def test_a_muted_attendee_asks_into_the_void(app, client, cast, pushes):
    from portal.room import moderation

    w = cast["webinar"]
    alice, bob = register(w), register(w)
    moderation.set_muted(w, alice.reg.lead_id, muted=True, actor=cast["speaker"])
    pushes.clear()
    answer = ask(client, alice, "am I heard?")
    assert answer.status_code == 200
    [q] = stored()
    assert q.moderation_status == "shadowed" and list_ids(answer.get_data(as_text=True)) == [q.question_id]
    assert pushes.to(room_channel(w.webinar_id), everyone=True) == []
    assert list_ids(client.get(bob.url).get_data(as_text=True)) == []


def test_question_ids_are_per_webinar(app, client, cast):
    w = cast["webinar"]
    alice = register(w)
    ask(client, alice, "mine")
    db.session.expire_all()
    assert db.session.scalar(db.select(Question.webinar_id)) == w.webinar_id


def test_host_actions_are_in_the_audit_record(app, client, cast):
    from portal.audit.models import AuditEntry
    from tests.qa.conftest import hx_post, logged_in

    w = cast["webinar"]
    alice = register(w)
    ask(client, alice, "audited?")
    [q] = stored()
    host = logged_in(app, cast["speaker"])
    console = f"/console/{w.webinar_id}"
    hx_post(host, console, f"{console}/qa/{q.question_id}/hide")
    hx_post(host, console, f"{console}/qa/settings", {"moderated": "1"})
    rows = db.session.scalars(db.select(AuditEntry).where(AuditEntry.kind == "moderation")
                              .order_by(AuditEntry.audit_id)).all()
    assert [(r.action, r.actor_user_id, r.webinar_id) for r in rows] == [
        ("question_hide", cast["speaker"].user_id, w.webinar_id),
        ("question_settings", cast["speaker"].user_id, w.webinar_id)]
    assert rows[0].lead_id == alice.reg.lead_id and rows[0].detail == {"question_id": q.question_id}
