"""Who may see which organizer pages: loaders that 404 / 403, and the list scope.

Every rule is portal.core.permissions': an organizer has the owner actions on webinars they
own, an admin on all. `scope()` is the same rule as a SQL filter, so lists never show a
webinar whose page would then be refused (tests/admin/test_permissions.py checks both agree).
"""
from __future__ import annotations

from sqlalchemy import true
from sqlalchemy.sql.elements import ColumnElement

from portal.core.models import Role, User, Webinar
from portal.core.permissions import Action, Actor, can, require
from portal.errors import NotFound
from portal.extensions import db


def require_area(actor: Actor) -> None:
    """The organizer area is for those who may create webinars (organizers, admins)."""
    require(actor, Action.CREATE)


def webinar_for(webinar_id: int, action: Action, *, actor: Actor) -> Webinar:
    """The webinar, if `actor` may perform `action` on it (404 when it does not exist)."""
    webinar = db.session.get(Webinar, webinar_id)
    if webinar is None:
        raise NotFound("No such webinar.")
    require(actor, action, webinar)
    return webinar


def sees_all(user: User) -> bool:
    """Admins act on every webinar; organizers only on their own."""
    return user.role == Role.admin.value and can(user, Action.MANAGE_USERS)


def scope(user: User) -> ColumnElement[bool]:
    """SQL filter: the webinars `user` may report on and edit."""
    if sees_all(user):
        return true()
    return Webinar.owner_user_id == user.user_id
