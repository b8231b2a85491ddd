"""Every kind of mail, in one place: its templates, subject, and how it is treated.

A kind `k` is rendered from templates/mail/k.html and templates/mail/k.txt (both extend
mail/_base.*) in the recipient's language; its subject is the msgid `subject` formatted with
the render context (`title`: the webinar's title). The context every template gets is built by
portal.mail.compose (see MAIL_API.md): webinar, registration, name, join_url, starts (time in
the recipient's zone), google_url, recovery_url, unsubscribe_url, plus the queued `context`.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask

from portal.errors import N_


@dataclass(frozen=True)
class Kind:
    name: str
    subject: str  # msgid; %(title)s is the webinar's title
    #: A reminder: carries List-Unsubscribe (RFC 8058 one-click) and is not sent once the
    #: registration unsubscribed. Confirmation and link recovery always go out.
    reminder: bool = False
    #: The calendar part attached: None, "REQUEST" (the entry, same UID) or "CANCEL".
    calendar: str | None = None
    #: The message carries the personal join link (context["join_token"] must be queued).
    join_link: bool = False


KINDS: dict[str, Kind] = {k.name: k for k in (
    # mail core (portal.mail)
    Kind("confirmation", N_("You are registered: %(title)s"), calendar="REQUEST", join_link=True),
    Kind("link_recovery", N_("Your link to %(title)s"), join_link=True),
    # reminders helper (portal.mail.reminders)
    Kind("remind_24h", N_("Tomorrow: %(title)s"), reminder=True, join_link=True),
    Kind("remind_1h", N_("In one hour: %(title)s"), reminder=True, join_link=True),
    Kind("starting_now", N_("Starting now: %(title)s"), reminder=True, join_link=True),
    Kind("live_now", N_("We are live: %(title)s"), reminder=True, join_link=True),
    Kind("rescheduled", N_("New time: %(title)s"), calendar="REQUEST", join_link=True),
    Kind("cancelled", N_("Cancelled: %(title)s"), calendar="CANCEL"),
    Kind("thank_you", N_("Thank you for joining %(title)s"), reminder=True),
    # organizer helper (issue 12: approval and waiting list, queued by portal.admin)
    Kind("declined", N_("Your registration for %(title)s")),
    Kind("seat_available", N_("A seat is free: %(title)s")),
)}


HOOKS = "portal.mail.kind-hooks"


def register_still_wanted(app: Flask, kind: str, still_wanted: Callable[[Any, Any], str | None]) -> None:
    """Per app: the sender asks `still_wanted(row, reg)` right before sending a claimed row of
    `kind`; a returned reason (str) marks the row `skipped` with that answer instead of sending
    ("rescheduled", "in the room", ...); None sends it."""
    get(kind)
    app.extensions.setdefault(HOOKS, {})[kind] = still_wanted


def skip_reason(app: Flask, row: Any, reg: Any) -> str | None:
    hook = app.extensions.get(HOOKS, {}).get(row.kind)
    return hook(row, reg) if hook is not None else None


def get(name: str) -> Kind:
    try:
        return KINDS[name]
    except KeyError:
        raise ValueError(f"unknown mail kind {name!r}; the kinds are in portal/mail/kinds.py") from None
