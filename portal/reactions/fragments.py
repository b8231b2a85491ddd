"""The reaction bar's burst (room) and the totals over time (console), server-rendered."""
from __future__ import annotations

from collections import Counter
from typing import Any

from flask import render_template
from flask_babel import lazy_gettext as _l

from portal.reactions import service
from portal.reactions.models import REACTIONS

#: name -> (emoji, accessible label); the order of REACTIONS is the bar's order.
CHOICES: dict[str, tuple[str, Any]] = {
    "like": ("👍", _l("Like")),
    "love": ("❤️", _l("Love")),
    "clap": ("👏", _l("Applause")),
    "laugh": ("😂", _l("Laugh")),
    "wow": ("😮", _l("Wow")),
}
assert tuple(CHOICES) == REACTIONS


def choices() -> list[tuple[str, str, Any]]:
    """(name, emoji, label) of every reaction, in the bar's order."""
    return [(name, *CHOICES[name]) for name in REACTIONS]


def burst(counts: Counter[str]) -> str:
    """One second of taps as the room shows it (replaces the previous burst). Language-neutral
    (emoji and numbers, hidden from screen readers): rendered and sent once, not per language,
    since it goes to every socket every second of a storm."""
    items = [(name, CHOICES[name][0], counts[name]) for name in REACTIONS if counts[name] > 0]
    return render_template("reactions/_burst.html", items=items)


def console_context(webinar_id: int) -> dict[str, Any]:
    """What the console's reaction totals show: per reaction, and per minute (last ten)."""
    totals = service.totals(webinar_id)
    return {"choices": choices(), "totals": totals, "total": sum(totals.values()),
            "minutes": service.per_minute(webinar_id)}


def console(webinar_id: int, *, oob: bool = False, lang: str | None = None) -> str:
    return render_template("reactions/_console.html", rx=console_context(webinar_id), oob=oob, lang=lang)
