"""The room's one loader: a join token to its registration; every failure is the same 404.

Used by the page, its actions, its socket admission and its polling state alike.
"""
from __future__ import annotations

from collections.abc import Iterable

from portal.core.models import Status
from portal.core.permissions import Action, can
from portal.errors import N_, NotFound
from portal.registration.models import Registration
from portal.registration.tokens import find_registration, find_registrations

INVALID_LINK = N_("This join link is not valid. Check the link in your confirmation email.")


def registration_or_404(token: str) -> Registration:
    """The registration a join token opens; unknown, revoked, banned or closed links look alike."""
    reg = find_registration(token)
    if reg is None or not _opens_room(reg):
        raise NotFound(INVALID_LINK)
    return reg


def registrations_opening(tokens: Iterable[str]) -> dict[str, Registration]:
    """`registration_or_404` for many tokens, a query per 500 of them: token -> registration,
    for the tokens that open the room (the others are left out)."""
    return {token: reg for token, reg in find_registrations(tokens).items() if _opens_room(reg)}


def _opens_room(reg: Registration) -> bool:
    webinar = reg.webinar
    return webinar is not None and webinar.status != Status.draft.value and can(reg, Action.ENTER_ROOM, webinar)
