"""Q&A fixtures: the room's attendees, every push recorded (channel-wide and member-addressed),
list pushes made at once unless a test measures the coalescing."""
from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from portal.extensions import db
from portal.qa.models import Question, QuestionVote
from tests.conftest import Auth, FreshGClient, csrf_token_from
from tests.room.conftest import (  # noqa: F401 - fixtures are found by name
    Attendee,
    app_config,
    attendee,
    register,
    room_socket,
)


@dataclass
class Sent:
    channel: str
    html: str
    member: int | None = None


@dataclass
class QaPushes:
    sent: list[Sent] = field(default_factory=list)

    def to(self, channel: str, *, member: int | None = None, everyone: bool = False) -> list[str]:
        """What went to `channel`: to everyone (`everyone`), to one member, or all of it."""
        return [s.html for s in self.sent if s.channel == channel
                and (member is None or s.member == member) and (not everyone or s.member is None)]

    def clear(self) -> None:
        self.sent.clear()


@pytest.fixture
def pushes(monkeypatch) -> QaPushes:
    """Every realtime.publish / publish_to of the test, still delivered."""
    from portal import realtime

    record = QaPushes()
    publish, publish_to = realtime.publish, realtime.publish_to

    def spy(channel: str, html: str) -> None:
        record.sent.append(Sent(channel, html))
        publish(channel, html)

    def spy_to(channel: str, html: str, *, member: int) -> None:
        record.sent.append(Sent(channel, html, member))
        publish_to(channel, html, member=member)

    monkeypatch.setattr(realtime, "publish", spy)
    monkeypatch.setattr(realtime, "publish_to", spy_to)
    return record


@pytest.fixture
def inline_pushes(monkeypatch):
    """Coalesced pushes run at once (the coalescing itself is measured in its own test)."""
    monkeypatch.setattr("portal.qa.push.PUSH_INTERVAL", 0)


def logged_in(app, user):
    """A client of its own, signed in as `user`."""
    app.test_client_class = FreshGClient
    client = app.test_client()
    assert Auth(client).login(user.email).status_code == 302
    return client


def hx_post(client, page: str, url: str, data: dict | None = None):
    """An htmx POST with the CSRF token of `page`."""
    token = csrf_token_from(client.get(page).get_data(as_text=True))
    return client.post(url, data=data or {}, headers={"X-CSRFToken": token, "HX-Request": "true"})


def ask(client, who: Attendee, body: str):
    return hx_post(client, who.url, f"{who.url}/qa", {"body": body})


def vote(client, who: Attendee, question_id: object, up: bool = True):
    return hx_post(client, who.url, f"{who.url}/qa/vote", {"question_id": str(question_id), "up": "1" if up else "0"})


def stored() -> list[Question]:
    db.session.expire_all()
    return list(db.session.scalars(db.select(Question).order_by(Question.question_id)))


def votes_stored() -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(QuestionVote)) or 0


@pytest.fixture
def cast(make):
    """A live webinar on air with its speaker and owner, plus a speaker of another webinar."""
    owner = make.user(role="organizer")
    speaker = make.user(role="speaker")
    return {
        "owner": owner,
        "speaker": speaker,
        "other_speaker": make.user(role="speaker"),
        "webinar": make.webinar(owner=owner, speakers=(speaker,), status="live"),
    }
