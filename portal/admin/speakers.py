"""Assigning speakers to a webinar (WebinarSpeaker rows)."""
from __future__ import annotations

import logging

from sqlalchemy import select

from portal.core import users as core_users
from portal.core.models import Role, User, Webinar, WebinarSpeaker
from portal.core.permissions import Action, Actor, require
from portal.errors import Conflict, Invalid
from portal.extensions import db

log = logging.getLogger(__name__)
SPEAKER_ACCOUNTS = (Role.speaker.value, Role.organizer.value)


def candidates(webinar: Webinar) -> list[User]:
    """Active speaker (and organizer) accounts not yet assigned to `webinar`."""
    assigned = {s.user_id for s in webinar.speakers}
    users = db.session.scalars(
        select(User)
        .where(User.role.in_(SPEAKER_ACCOUNTS), User.is_disabled.is_(False))
        .order_by(User.display_name, User.user_id)
    )
    return [u for u in users if u.user_id not in assigned]


def assign(webinar: Webinar, user_id: int, *, actor: Actor) -> WebinarSpeaker:
    """Make a speaker account a speaker of `webinar`."""
    require(actor, Action.ASSIGN_SPEAKERS, webinar)
    user = db.session.get(User, user_id)
    if user is None or user.role not in SPEAKER_ACCOUNTS or user.is_disabled:
        raise Invalid("Choose an active speaker account.", details={"field": "user_id"})
    if any(s.user_id == user_id for s in webinar.speakers):
        raise Conflict("%(name)s is already a speaker of this webinar.", name=user.display_name)
    speaker = WebinarSpeaker(user_id=user.user_id, display_name=user.display_name)
    webinar.speakers.append(speaker)
    db.session.commit()
    log.info("webinar %s: speaker %s assigned", webinar.webinar_id, user_id)
    return speaker


def remove(webinar: Webinar, user_id: int, *, actor: Actor) -> None:
    """Take a speaker off `webinar` (a no-op when they were not assigned); their console of it
    closes (the page and socket refuse them from now on, their other consoles stay open)."""
    require(actor, Action.ASSIGN_SPEAKERS, webinar)
    for speaker in list(webinar.speakers):
        if speaker.user_id == user_id:
            webinar.speakers.remove(speaker)
            core_users.left_webinar(user_id, webinar.webinar_id, reason="removed")
    db.session.commit()
    log.info("webinar %s: speaker %s removed", webinar.webinar_id, user_id)
