"""Loading a room from its join token: every failure is the same 404."""
from __future__ import annotations

from flask_babel import gettext as _

from portal.core.models import Status
from portal.core.permissions import Action, can
from portal.errors import NotFound
from portal.registration.models import Registration
from portal.registration.tokens import find_registration


def registration_or_404(token: str) -> Registration:
    """The registration a join token opens; unknown, revoked, banned or closed links look alike."""
    reg = find_registration(token)
    if reg is None or reg.webinar is None or reg.webinar.status == Status.draft.value:
        raise NotFound(_("This join link is not valid. Check the link in your confirmation email."))
    if not can(reg, Action.ENTER_ROOM, reg.webinar):
        raise NotFound(_("This join link is not valid. Check the link in your confirmation email."))
    return reg
