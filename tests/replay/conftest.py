"""Replay fixtures: the media ones (a scratch recordings folder, staff sessions, attendees)."""
from tests.media.conftest import app_config, as_user, attendee, stored  # noqa: F401
