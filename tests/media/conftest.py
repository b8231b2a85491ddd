"""Media fixtures: recordings kept in a scratch folder, staff sessions with their CSRF token."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.admin.conftest import Session

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).parents[2]
DEMO_MP4 = ROOT / "static" / "demo" / "auto.mp4"  # 90 s (bench/make_demo_media.sh)
CLIP_WEBM = DATA / "clip.webm"  # 3 s, VP8


@pytest.fixture
def app_config(app_config: dict, tmp_path: Path) -> dict:
    app_config["RECORDINGS_DIR"] = str(tmp_path / "recordings")
    return app_config


@pytest.fixture
def stored(app) -> Path:
    """The recordings folder (what is on disk after a request)."""
    return Path(app.config["RECORDINGS_DIR"])


@pytest.fixture
def as_user(app):
    from tests.conftest import Auth, FreshGClient

    app.test_client_class = FreshGClient

    def login(user) -> Session:
        client = app.test_client()
        return Session(client, Auth(client)).login(user)

    return login


@pytest.fixture
def attendee():
    from tests.room.conftest import register

    return register
