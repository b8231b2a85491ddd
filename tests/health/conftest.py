"""Health panel tests: tickers off (the tests tick by hand), every publish recorded."""
from __future__ import annotations

import pytest

from tests.room.conftest import pushes  # noqa: F401 - the room's publish recorder


@pytest.fixture
def app_config(app_config: dict) -> dict:
    app_config["REACTIONS_TICK_SECONDS"] = 0
    app_config["HEALTH_TICK_SECONDS"] = 0
    app_config["ROOM_ATTENDANCE_PUSH_INTERVAL"] = 0
    return app_config
