"""Console tests use the room's fixtures: attendees registered through the real service,
pushes recorded, presence forgotten between tests."""
from tests.room.conftest import (  # noqa: F401 - fixtures are found by name
    Attendee,
    Pushes,
    _forget_local_presence,
    app_config,
    attendee,
    pushes,
    register,
)
