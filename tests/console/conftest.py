"""Room fixtures: attendees registered through the real service, pushes recorded."""
from __future__ import annotations

from dataclasses import dataclass, field
from itertools import count

import pytest

from portal.registration import service
from portal.registration.models import Registration

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


@pytest.fixture(autouse=True)
def _forget_local_presence():
    """Connections remembered by a previous test's webinar (ids are reused) must not leak."""
    from portal.room import presence

    with presence._lock:
        presence._local.clear()
    yield


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
