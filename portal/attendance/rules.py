"""The attendance vocabulary, plain constants (no Flask, no database): the models build their
CHECK constraints from them and AutoWebinar's math reads them."""
from __future__ import annotations

PROGRESS_MILESTONES = (0, 25, 50, 75, 100)  # the percentages a session's progress is stored at

LEAVE_REASONS = (
    "left",  # the attendee closed or hid the page
    "disconnected",  # the socket dropped without a goodbye
    "webinar_finished",
    "banned",
    "revoked",
    "timeout",
    "server_restart",
)
