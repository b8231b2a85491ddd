"""Every permission check of the portal, in one place (SPEC §2).

Actors: a staff `User`, an `Attendee` (a registration, from the layer above: Core only needs
its webinar and whether its access stands), `None` (anonymous), or `SYSTEM` (Core itself or a
scheduled job). `can()` answers; `require()` raises Forbidden.
"""
from __future__ import annotations

import enum
from typing import Protocol

from portal.core.models import Role, Status, User, Webinar
from portal.errors import Forbidden


class Attendee(Protocol):
    """What Core reads of an attendee actor (portal.registration.models.Registration)."""

    webinar_id: int
    lead_id: int

    @property
    def has_access(self) -> bool: ...


class Action(enum.StrEnum):
    VIEW_PUBLIC = "webinar.view_public"
    REGISTER = "webinar.register"
    ENTER_ROOM = "room.enter"
    CHAT = "room.chat"
    CLICK_CTA = "room.cta_click"
    OPEN_CONSOLE = "console.open"
    CONTROL = "webinar.control"  # start / stop
    SET_CTA = "webinar.cta"
    MODERATE = "chat.moderate"
    CREATE = "webinar.create"
    EDIT = "webinar.edit"
    PUBLISH = "webinar.publish"  # publish / unpublish
    PAUSE = "webinar.pause"
    ARCHIVE = "webinar.archive"
    ASSIGN_SPEAKERS = "webinar.speakers"
    VIEW_REPORTS = "webinar.reports"
    MANAGE_WEBHOOKS = "webinar.webhooks"
    MANAGE_USERS = "users.manage"
    MANAGE_TOKENS = "tokens.manage"


class _System:
    """Core's own actor (technical pause, retention job, demo seeding)."""

    def __repr__(self) -> str:
        return "SYSTEM"


SYSTEM = _System()
Actor = User | Attendee | _System | None

SPEAKER_ACTIONS = frozenset({Action.OPEN_CONSOLE, Action.CONTROL, Action.SET_CTA, Action.MODERATE})
OWNER_ACTIONS = SPEAKER_ACTIONS | {
    Action.EDIT,
    Action.PUBLISH,
    Action.PAUSE,
    Action.ARCHIVE,
    Action.ASSIGN_SPEAKERS,
    Action.VIEW_REPORTS,
    Action.MANAGE_WEBHOOKS,
}
ATTENDEE_ACTIONS = frozenset({Action.ENTER_ROOM, Action.CHAT, Action.CLICK_CTA})
GLOBAL_STAFF_ACTIONS = {Role.organizer.value: {Action.CREATE, Action.MANAGE_TOKENS}}


def is_speaker(user: User, webinar: Webinar) -> bool:
    return any(s.user_id == user.user_id for s in webinar.speakers)


def _public(action: Action, webinar: Webinar | None) -> bool:
    if webinar is None:
        return False
    if action is Action.VIEW_PUBLIC:
        return webinar.status not in (Status.draft.value,)
    if action is Action.REGISTER:
        return webinar.status in (Status.scheduled.value, Status.live.value, Status.paused.value)
    return False


def _attendee(reg: Attendee, action: Action, webinar: Webinar | None) -> bool:
    if action not in ATTENDEE_ACTIONS or webinar is None:
        return False
    if reg.webinar_id != webinar.webinar_id or not reg.has_access:
        return False
    if action is Action.CHAT:
        return webinar.has_internal_chat
    return True


def _staff(user: User, action: Action, webinar: Webinar | None) -> bool:
    if user.is_disabled:
        return False
    if user.role == Role.admin.value:
        return action not in ATTENDEE_ACTIONS
    if webinar is None:
        return action in GLOBAL_STAFF_ACTIONS.get(user.role, set())
    if user.role == Role.organizer.value and webinar.owner_user_id == user.user_id:
        return action in OWNER_ACTIONS
    if user.role in (Role.organizer.value, Role.speaker.value) and is_speaker(user, webinar):
        return action in SPEAKER_ACTIONS
    return False


def can(actor: Actor, action: Action, webinar: Webinar | None = None) -> bool:
    """May `actor` perform `action` (on `webinar`, for per-webinar actions)?"""
    if action in (Action.VIEW_PUBLIC, Action.REGISTER):
        if _public(action, webinar):
            return True
        # Staff who may edit a webinar can also preview it while it is a draft.
        return action is Action.VIEW_PUBLIC and isinstance(actor, User) and _staff(actor, Action.EDIT, webinar)
    if isinstance(actor, _System):
        return action not in ATTENDEE_ACTIONS
    if isinstance(actor, User):
        return actor.role != Role.lead.value and _staff(actor, action, webinar)
    if actor is None:
        return False
    return _attendee(actor, action, webinar)  # a Registration


def require(actor: Actor, action: Action, webinar: Webinar | None = None) -> None:
    """Raise Forbidden unless `can(actor, action, webinar)`."""
    if not can(actor, action, webinar):
        raise Forbidden("You are not allowed to do this.", details={"action": action.value})


def describe(actor: Actor) -> dict[str, object]:
    """The actor as recorded in events."""
    if isinstance(actor, _System):
        return {"type": "system"}
    if isinstance(actor, User):
        return {"type": "user", "user_id": actor.user_id, "role": actor.role}
    if actor is None:
        return {"type": "anonymous"}
    return {"type": "attendee", "lead_id": actor.lead_id}
