"""Room fixtures: attendees registered through the real service, pushes recorded."""
from __future__ import annotations

from dataclasses import dataclass, field
from itertools import count

import pytest

from portal.realtime import Admission, SocketContext
from portal.registration import service
from portal.registration.models import Registration
from portal.room.channels import room_channel

_n = count(1)


@dataclass
class Attendee:
    reg: Registration
    token: str

    @property
    def url(self) -> str:
        return f"/room/{self.token}"


def register(webinar, *, name: str | None = None) -> Attendee:
    """A fresh lead registered for `webinar` (must be open: scheduled, live or paused)."""
    n = next(_n)
    result = service.register(webinar, name=name or f"Attendee {n}", email=f"attendee{n}@example.com")
    assert result.token
    return Attendee(result.registration, result.token)


@pytest.fixture
def app_config(app_config: dict) -> dict:
    app_config["ROOM_ATTENDANCE_PUSH_INTERVAL"] = 0  # push counts inline: deterministic tests
    return app_config


class RecordingContext(SocketContext):
    """A real SocketContext for handler tests, keeping what the handler sent."""

    __slots__ = ("sent",)

    def __init__(self, admission, connection_id: str = "conn") -> None:
        sent: list[str] = []
        super().__init__(admission, connection_id=connection_id, send=sent.append)
        self.sent = sent


def room_socket(reg: Registration, connection_id: str = "conn") -> RecordingContext:
    """The context a room socket of `reg` gives its handlers (admitted by its join token's rules)."""
    admission = Admission(room_channel(reg.webinar_id), "room", member=reg.lead_id,
                          ids={"registration_id": reg.registration_id, "webinar_id": reg.webinar_id,
                               "lead_id": reg.lead_id})
    return RecordingContext(admission, connection_id)


@pytest.fixture
def attendee():
    return register


@dataclass
class Pushes:
    sent: list[tuple[str, str]] = field(default_factory=list)

    def to(self, channel: str) -> list[str]:
        return [html for ch, html in self.sent if ch == channel]

    def clear(self) -> None:
        self.sent.clear()


@pytest.fixture
def pushes(monkeypatch) -> Pushes:
    """Every realtime.publish(channel, html) of the test, still delivered."""
    from portal import realtime

    record = Pushes()
    original = realtime.publish

    def spy(channel: str, html: str) -> None:
        record.sent.append((channel, html))
        original(channel, html)

    monkeypatch.setattr(realtime, "publish", spy)
    return record
