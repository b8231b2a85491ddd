"""The room's one loader: a join token to its registration; every failure is the same 404.

Used by the page, its actions, its socket admission and its polling state alike.
"""
from __future__ import annotations

from portal.core.models import Status
from portal.core.permissions import Action, can
from portal.errors import N_, NotFound
from portal.registration.models import Registration
from portal.registration.tokens import find_registration

INVALID_LINK = N_("This join link is not valid. Check the link in your confirmation email.")


def registration_or_404(token: str) -> Registration:
    """The registration a join token opens; unknown, revoked, banned or closed links look alike."""
    reg = find_registration(token)
    webinar = reg.webinar if reg is not None else None
    if reg is None or webinar is None or webinar.status == Status.draft.value \
            or not can(reg, Action.ENTER_ROOM, webinar):
        raise NotFound(INVALID_LINK)
    return reg
