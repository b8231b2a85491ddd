"""Channel names: one per room, one per speaker console (the console is pushed to by the room)."""
from __future__ import annotations


def room_channel(webinar_id: int) -> str:
    """Every attendee socket of a webinar's room listens here."""
    return f"room:{int(webinar_id)}"


def console_channel(webinar_id: int) -> str:
    """The speaker console of a webinar listens here."""
    return f"console:{int(webinar_id)}"
