"""Reaction tests: tickers off (the tests tick by hand), every publish recorded."""
from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from tests.room.conftest import pushes  # noqa: F401 - the room's publish recorder


@pytest.fixture
def app_config(app_config: dict) -> dict:
    app_config["REACTIONS_TICK_SECONDS"] = 0
    app_config["HEALTH_TICK_SECONDS"] = 0
    app_config["ROOM_ATTENDANCE_PUSH_INTERVAL"] = 0
    return app_config


@dataclass
class Volatile:
    sent: list[tuple[str, str]] = field(default_factory=list)

    def to(self, channel: str) -> list[str]:
        return [html for ch, html in self.sent if ch == channel]


@pytest.fixture
def volatile(monkeypatch) -> Volatile:
    """Every realtime.publish_volatile(channel, html) of the test, still delivered."""
    from portal import realtime

    record = Volatile()
    original = realtime.publish_volatile

    def spy(channel: str, html: str) -> None:
        record.sent.append((channel, html))
        original(channel, html)

    monkeypatch.setattr(realtime, "publish_volatile", spy)
    return record
