"""Issue 12 point 7 on the public side: registration questions, capacity with a waiting list,
and manual approval (pending page, no link until approved)."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.mail.models import MailMessage
from portal.registration.models import Registration, RegistrationQuestion
from portal.registration.service import register


def _questions(webinar) -> dict[str, RegistrationQuestion]:
    qs = {
        "company": RegistrationQuestion(webinar_id=webinar.webinar_id, position=1, label="Company", kind="text",
                                        required=True),
        "role": RegistrationQuestion(webinar_id=webinar.webinar_id, position=2, label="Your role", kind="choice",
                                     options=["Developer", "Manager"], required=False),
        "terms": RegistrationQuestion(webinar_id=webinar.webinar_id, position=3, label="I accept the terms",
                                      kind="checkbox", required=True),
    }
    db.session.add_all(qs.values())
    db.session.commit()
    return qs


def _mine(email: str) -> Registration | None:
    db.session.expire_all()
    return db.session.scalar(select(Registration).join(Registration.lead).where(Registration.lead.has(email=email)))


def test_questions_are_shown_validated_and_stored(make, visitor, counts):
    webinar = make.webinar(status="scheduled")
    qs = _questions(webinar)
    page = visitor.open(f"/w/{webinar.slug}").get_data(as_text=True)
    assert page.count('data-testid="question"') == 3 and "Company" in page and "Manager" in page
    fields = {f"q_{q.question_id}": q for q in qs.values()}
    company, role, terms = (f"q_{qs[k].question_id}" for k in ("company", "role", "terms"))
    assert set(fields) == {company, role, terms}

    before = counts()
    refused = visitor.register(webinar.slug, open_first=False, **{role: "CEO"})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert "Please answer this question." in html and "Please tick this box to register." in html
    assert "Choose one of the offered answers." in html
    assert counts() == before, "nothing stored on error"

    ok = visitor.register(webinar.slug, **{company: "  Acme  ", role: "Manager", terms: "yes"})
    assert ok.status_code == 303
    reg = _mine("ann@example.com")
    assert reg.answers == {str(qs["company"].question_id): "Acme", str(qs["role"].question_id): "Manager",
                           str(qs["terms"].question_id): "yes"}


def test_answers_of_a_refused_form_are_kept(make, visitor):
    webinar = make.webinar(status="scheduled")
    qs = _questions(webinar)
    html = visitor.register(webinar.slug, name="", **{f"q_{qs['company'].question_id}": "Acme"}).get_data(as_text=True)
    assert re.search(r'name="q_\d+" id="q_\d+" value="Acme"', html)


def test_a_full_time_offers_the_waiting_list_and_a_freed_seat_tells_the_first(app, make, browser_factory, counts):
    webinar = make.webinar(status="scheduled", capacity=1)
    first = browser_factory()
    assert first.register(webinar.slug, email="one@example.com").status_code == 303
    before = counts()
    late = browser_factory()
    full = late.register(webinar.slug, email="two@example.com")
    html = full.get_data(as_text=True)
    assert full.status_code == 409 and 'data-testid="registration-full"' in html
    assert "fully booked" in html and 'data-testid="waitlist-form"' in html
    assert counts() == before, "a full time stores nothing"

    late.token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    joined = late.client.post(f"/w/{webinar.slug}/waitlist", data={
        "csrf_token": late.token, "name": "Two", "email": "two@example.com", "slot_id": ""})
    assert joined.status_code == 200 and 'data-testid="waitlisted"' in joined.get_data(as_text=True)
    third = browser_factory()
    third.register(webinar.slug, email="three@example.com")
    third.client.post(f"/w/{webinar.slug}/waitlist", data={
        "csrf_token": third.token, "name": "Three", "email": "three@example.com", "slot_id": ""})
    waiting = _mine("two@example.com")
    assert waiting.state == "waitlisted" and not waiting.has_access
    assert db.session.scalar(select(MailMessage).where(MailMessage.kind == "seat_available")) is None

    from portal.room import seat
    seat.cancel(_mine("one@example.com"))  # the first seat is given back

    told = db.session.scalars(select(MailMessage).where(MailMessage.kind == "seat_available")).all()
    assert [m.recipient for m in told] == ["two@example.com"], "the first waiting, one mail"
    from portal.mail.compose import render
    body = render(told[0]).message.get_body(("plain",)).get_content()
    assert f"/w/{webinar.slug}" in body and "/room/" not in body
    again = browser_factory().register(webinar.slug, name="Two", email="two@example.com")
    assert again.status_code == 303
    promoted = _mine("two@example.com")
    assert promoted.state == "confirmed" and promoted.has_access
    assert db.session.scalar(select(MailMessage).where(MailMessage.kind == "confirmation",
                                                      MailMessage.recipient == "two@example.com")) is not None
    # Full again: the third stays on the list.
    assert browser_factory().register(webinar.slug, email="three@example.com").status_code == 409


def test_capacity_counts_per_start_time(make, browser_factory):
    from datetime import timedelta

    from portal.db_types import utcnow
    later = utcnow().replace(microsecond=0) + timedelta(days=2)
    webinar = make.webinar(status="scheduled", capacity=1, slots=(later, later + timedelta(days=1)))
    a, b = (str(s.slot_id) for s in webinar.slots)
    assert browser_factory().register(webinar.slug, email="x@example.com", slot_id=a).status_code == 303
    assert browser_factory().register(webinar.slug, email="y@example.com", slot_id=a).status_code == 409
    assert browser_factory().register(webinar.slug, email="y@example.com", slot_id=b).status_code == 303


def test_approval_pending_page_has_no_link_and_no_confirmation(make, visitor):
    webinar = make.webinar(status="scheduled", requires_approval=True)
    response = visitor.register(webinar.slug)
    assert response.status_code == 303
    page = visitor.client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'data-testid="registration-pending"' in page and 'data-testid="join-link"' not in page
    assert "/room/" not in page
    reg = _mine("ann@example.com")
    assert reg.state == "pending"
    assert db.session.scalar(select(MailMessage).where(MailMessage.registration_id == reg.registration_id)) is None
    # A double submit from the same browser shows the same pending page.
    again = visitor.register(webinar.slug)
    assert 'data-testid="registration-pending"' in visitor.client.get(again.headers["Location"]).get_data(as_text=True)


def test_pending_token_opens_no_room(client, make):
    webinar = make.webinar(status="scheduled", requires_approval=True)
    outcome = register(webinar, name="Ann", email="ann@example.com")
    assert outcome.state == "pending"
    assert client.get(f"/room/{outcome.token}").status_code == 404


@pytest.mark.parametrize("kind,options,message", [
    ("text", "", None),
    ("choice", "Only one", "at least two answers"),
    ("bogus", "", "Choose text, choice or checkbox."),
])
def test_question_input_rules(make, kind, options, message):
    from portal.errors import Invalid
    from portal.registration import questions
    webinar = make.webinar()
    data = questions.QuestionInput(label="Company", kind=kind, options=options)
    if message is None:
        assert questions.add(webinar, data).kind == "text"
        return
    with pytest.raises(Invalid) as refused:
        questions.add(webinar, data)
    assert message in str(refused.value.details["fields"])
