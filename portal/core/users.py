"""Core users and leads: creation, password hashing, look-ups."""
from __future__ import annotations

import secrets

from sqlalchemy import func, or_, select
from werkzeug.security import check_password_hash, generate_password_hash

from portal.core.models import Role, User, Webinar, WebinarSpeaker
from portal.errors import Conflict, Invalid
from portal.extensions import db
from portal.signals import after_commit, sessions_ended

# A hash to verify against when the email is unknown, so timing does not reveal accounts.
_DUMMY_HASH = generate_password_hash(secrets.token_urlsafe(16))


def normalise_email(email: str) -> str:
    return email.strip().lower()


def find_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalise_email(email)))


def set_password(user: User, password: str) -> None:
    if len(password) < 8:
        raise Invalid("Passwords need at least 8 characters.")
    user.password_hash = generate_password_hash(password)


def create_user(email: str, *, role: str, password: str | None, display_name: str | None = None) -> User:
    """Create a staff user (admin, organizer, speaker). The caller commits."""
    if role not in {r.value for r in Role} - {Role.lead.value}:
        raise Invalid("Unknown role %(role)s.", role=role)
    email = normalise_email(email)
    if find_by_email(email) is not None:
        raise Conflict("A user with email %(email)s already exists.", email=email)
    user = User(email=email, role=role, display_name=display_name or email.split("@")[0].title())
    if password:
        set_password(user, password)
    db.session.add(user)
    return user


def authenticate(email: str, password: str) -> User | None:
    """The active staff user with these credentials, or None."""
    user = find_by_email(email)
    if user is None or not user.password_hash:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not check_password_hash(user.password_hash, password) or user.is_disabled or not user.is_staff:
        return None
    return user


def has_password(email: str, password: str) -> bool:
    """Does the account `email` have this password (disabled or not)?"""
    user = find_by_email(email)
    return bool(user is not None and user.password_hash and check_password_hash(user.password_hash, password))


def count_by_role() -> dict[str, int]:
    rows = db.session.execute(select(User.role, func.count()).group_by(User.role))
    return {role: n for role, n in rows}


def end_sessions(user: User, *, reason: str) -> None:
    """End every session of `user` (all browsers, remember cookies included) and, after the
    caller commits, close their console sockets on every webinar they could open.

    Call it before changing the role, so an admin losing the role is closed everywhere.
    """
    user.session_version = (user.session_version or 1) + 1
    after_commit(sessions_ended, user.user_id, webinar_ids=console_webinar_ids(user), reason=reason)


def left_webinar(user_id: int, webinar_id: int, *, reason: str) -> None:
    """After the caller commits, close `user_id`'s console sockets on `webinar_id` (taken off it).

    Their other sessions stay: the console checks the permission on every request and frame.
    """
    after_commit(sessions_ended, user_id, webinar_ids=(webinar_id,), reason=reason)


def console_webinar_ids(user: User) -> tuple[int, ...]:
    """Every webinar whose console `user` may have open: all for an admin, else owned or assigned."""
    query = select(Webinar.webinar_id)
    if user.role != Role.admin.value:
        assigned = select(WebinarSpeaker.webinar_id).where(WebinarSpeaker.user_id == user.user_id)
        query = query.where(or_(Webinar.owner_user_id == user.user_id, Webinar.webinar_id.in_(assigned)))
    return tuple(db.session.scalars(query.order_by(Webinar.webinar_id)))
