"""Core users and leads: creation, password hashing, look-ups."""
from __future__ import annotations

import secrets

from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from portal.core.models import Role, User
from portal.errors import Conflict, Invalid
from portal.extensions import db

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


def count_by_role() -> dict[str, int]:
    rows = db.session.execute(select(User.role, func.count()).group_by(User.role))
    return {role: n for role, n in rows}
