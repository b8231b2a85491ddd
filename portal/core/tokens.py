"""API tokens (bearer tokens for /api/v1): issue, authenticate, list, revoke.

A token is `wpt_` + 43 url-safe characters (256 random bits); only its SHA-256 is stored, with
its first characters (`prefix`) so lists can tell tokens apart. Scopes narrow what a token may
do — `read` (webinars, registrations, attendance, events), `control` (the status and CTA
hooks), `webhooks` (manage endpoints) — on top of its user's own permissions
(portal.core.permissions): a token never does more than its user could in the pages.
"""
from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Iterable
from datetime import timedelta

from sqlalchemy import or_, select, update

from portal.core.models import ApiToken, Role, User
from portal.core.permissions import SYSTEM, Action, Actor, can, require
from portal.db_types import utcnow
from portal.errors import N_, Invalid, NotFound
from portal.extensions import db

log = logging.getLogger(__name__)

SCOPES = ("read", "control", "webhooks")
TOKEN_PREFIX = "wpt_"
SHOWN_PREFIX = 12  # "wpt_" + 8 characters
NAME_MAX = 120
#: last_used_at is written at most this often per token (not on every request).
TOUCH_EVERY = timedelta(seconds=60)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def parse_scopes(value: str | Iterable[str]) -> tuple[str, ...]:
    """The scopes named in "read,control" / "read control" / a list, in canonical order."""
    items = value.replace(",", " ").split() if isinstance(value, str) else [str(v).strip() for v in value]
    unknown = sorted({s for s in items if s not in SCOPES})
    if unknown:
        raise Invalid(N_("Unknown scope %(scopes)s: use read, control or webhooks."), scopes=", ".join(unknown))
    chosen = tuple(s for s in SCOPES if s in items)
    if not chosen:
        raise Invalid(N_("Choose at least one scope: read, control or webhooks."))
    return chosen


def issue(user: User, *, name: str, scopes: str | Iterable[str], actor: Actor) -> tuple[ApiToken, str]:
    """A new token for `user` (added to the session, not committed); the secret is returned once.

    `actor` is the user themselves (admin pages) or SYSTEM (the create-token command)."""
    if actor is not SYSTEM:
        require(actor, Action.MANAGE_TOKENS)
        if not (isinstance(actor, User) and actor.user_id == user.user_id):
            raise Invalid(N_("Tokens are issued to yourself here; an administrator uses the create-token command."))
    if user.role == Role.lead.value or user.is_disabled:
        raise Invalid(N_("Tokens are for active staff accounts (speakers, organizers, admins)."))
    name = (name or "").strip() or "API token"
    if len(name) > NAME_MAX:
        raise Invalid(N_("The token name is too long (at most %(n)s characters)."), n=NAME_MAX)
    chosen = parse_scopes(scopes)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.user_id, name=name, token_hash=digest(secret), scopes=" ".join(chosen),
                     prefix=secret[:SHOWN_PREFIX], created_at=utcnow())
    db.session.add(token)
    db.session.flush()
    log.info("api token %s issued to user %s scopes=%s", token.token_id, user.user_id, token.scopes)
    return token, secret


def authenticate(secret: str) -> ApiToken | None:
    """The live token for this secret (not revoked, its user active), else None.

    Notes the use (`last_used_at`, at most once a TOUCH_EVERY) in a short transaction of its own."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    wanted = digest(secret)
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == wanted))
    if token is None or token.revoked_at is not None:
        return None
    user = db.session.get(User, token.user_id)
    if user is None or user.is_disabled or user.role == Role.lead.value:
        return None
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at >= TOUCH_EVERY:
        db.session.execute(update(ApiToken).where(
            ApiToken.token_id == token.token_id,
            or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at <= now - TOUCH_EVERY),
        ).values(last_used_at=now).execution_options(synchronize_session=False))
        db.session.commit()
    return token


def scopes_of(token: ApiToken) -> frozenset[str]:
    return frozenset(token.scopes.split())


def visible_to(user: User) -> list[ApiToken]:
    """The tokens `user` manages: their own; an admin sees everyone's. Newest first."""
    query = select(ApiToken).order_by(ApiToken.token_id.desc())
    if not can(user, Action.MANAGE_USERS):
        query = query.where(ApiToken.user_id == user.user_id)
    return list(db.session.scalars(query))


def revoke(token_id: int, *, actor: User) -> ApiToken:
    """Revoke a token (its owner, or an admin); revoking twice is a no-op. Not committed."""
    token = db.session.get(ApiToken, token_id)
    if token is None or not (token.user_id == actor.user_id or can(actor, Action.MANAGE_USERS)):
        raise NotFound(N_("No such token."))
    require(actor, Action.MANAGE_TOKENS)
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        log.info("api token %s revoked by user %s", token.token_id, actor.user_id)
    return token
