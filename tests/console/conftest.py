"""Console tests use the room's fixtures: attendees registered through the real service,
pushes recorded."""
from tests.room.conftest import (  # noqa: F401 - fixtures are found by name
    Attendee,
    Pushes,
    app_config,
    attendee,
    pushes,
    register,
)
