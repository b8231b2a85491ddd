"""Channel names: one per room cohort, one per speaker console cohort (the console is pushed to
by the room). The empty cohort is the webinar's own channel (the live main start time; see
portal.room.cohorts)."""
from __future__ import annotations


def room_channel(webinar_id: int, cohort: str = "") -> str:
    """Every attendee socket of a webinar's room (of one cohort) listens here."""
    return f"room:{int(webinar_id)}:{cohort}" if cohort else f"room:{int(webinar_id)}"


def console_channel(webinar_id: int, cohort: str = "") -> str:
    """The speaker consoles of a webinar (watching one cohort's chat) listen here."""
    return f"console:{int(webinar_id)}:{cohort}" if cohort else f"console:{int(webinar_id)}"
