"""The Q&A's loader for hosts: unknown webinar 404, someone else's 403 (portal.core.permissions)."""
from __future__ import annotations

from typing import Any

from portal.core.models import User, Webinar
from portal.core.permissions import Action, require
from portal.errors import N_, NotFound
from portal.extensions import db


def _webinar_or_404(webinar_id: int) -> Webinar:
    webinar = db.session.get(Webinar, webinar_id)
    if webinar is None:
        raise NotFound(N_("This webinar does not exist."))
    return webinar


def hosted_or_404(user: Any, webinar_id: int) -> Webinar:
    """A webinar whose questions `user` may moderate (its speakers, its organizer, admins)."""
    webinar = _webinar_or_404(webinar_id)
    require(user if isinstance(user, User) else None, Action.MODERATE, webinar)
    return webinar
