"""Staff accounts managed by admins: list, create, role, disable/enable, password reset."""
from __future__ import annotations

import logging
import secrets

from sqlalchemy import func, select

from portal.admin import search
from portal.admin.pagination import PER_PAGE, Page, clamp
from portal.core import users
from portal.core.models import Role, User
from portal.core.permissions import Action, Actor, require
from portal.errors import Conflict, Invalid, NotFound
from portal.extensions import db

log = logging.getLogger(__name__)
STAFF = (Role.admin.value, Role.organizer.value, Role.speaker.value)


def generate_password() -> str:
    """A random password an admin hands over once (about 96 bits)."""
    return secrets.token_urlsafe(12)


def page(*, actor: Actor, q: str = "", role: str = "", number: int = 1) -> Page[User]:
    require(actor, Action.MANAGE_USERS)
    where = [User.role.in_(STAFF)]
    if role in STAFF:
        where.append(User.role == role)
    if q:
        dialect = db.session.get_bind().dialect.name
        where.append(search.person_matches(User.display_name, User.email, q, dialect=dialect))
    total = db.session.scalar(select(func.count()).select_from(User).where(*where)) or 0
    number = clamp(number, total=total, per_page=PER_PAGE)
    items = db.session.scalars(
        select(User).where(*where).order_by(User.role, User.display_name, User.user_id)
        .limit(PER_PAGE).offset((number - 1) * PER_PAGE)
    ).all()
    return Page(list(items), number, PER_PAGE, total)


def get(user_id: int) -> User:
    """A staff account (leads are not managed here)."""
    user = db.session.get(User, user_id)
    if user is None or user.role not in STAFF:
        raise NotFound("No such account.")
    return user


def create(*, email: str, display_name: str, role: str, actor: Actor) -> tuple[User, str]:
    """A new staff account and its one-time password."""
    require(actor, Action.MANAGE_USERS)
    password = generate_password()
    try:
        user = users.create_user(email, role=role, password=password, display_name=display_name.strip())
    except Conflict:
        raise Invalid("An account with this email already exists.", details={"field": "email"}) from None
    db.session.commit()
    log.info("user %s (%s) created by %s", user.user_id, role, getattr(actor, "user_id", actor))
    return user, password


def set_role(user: User, role: str, *, actor: Actor) -> User:
    require(actor, Action.MANAGE_USERS)
    if role not in STAFF:
        raise Invalid("Unknown role.", details={"field": "role"})
    if user.role == Role.admin.value and role != Role.admin.value:
        _keep_an_admin(user, actor=actor)
    if role == user.role:
        return user
    users.end_sessions(user, reason="role_changed")  # before the change: the old role's consoles close
    user.role = role
    db.session.commit()
    log.info("user %s role -> %s", user.user_id, role)
    return user


def set_disabled(user: User, disabled: bool, *, actor: Actor) -> User:
    require(actor, Action.MANAGE_USERS)
    if disabled and user.role == Role.admin.value:
        _keep_an_admin(user, actor=actor)
    if disabled and not user.is_disabled:
        users.end_sessions(user, reason="disabled")
    user.is_disabled = disabled
    db.session.commit()
    log.info("user %s disabled=%s", user.user_id, disabled)
    return user


def reset_password(user: User, *, actor: Actor) -> str:
    """Set and return a fresh random password (shown once, never stored in clear)."""
    require(actor, Action.MANAGE_USERS)
    password = generate_password()
    users.set_password(user, password)
    users.end_sessions(user, reason="password_reset")
    db.session.commit()
    log.info("user %s password reset", user.user_id)
    return password


def _keep_an_admin(user: User, *, actor: Actor) -> None:
    if isinstance(actor, User) and actor.user_id == user.user_id:
        raise Conflict("You cannot demote or disable your own account.")
    others = db.session.scalar(
        select(func.count()).select_from(User).where(
            User.role == Role.admin.value, User.is_disabled.is_(False), User.user_id != user.user_id
        )
    )
    if not others:
        raise Conflict("At least one active admin must remain.")
