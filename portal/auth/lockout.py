"""The per-account part of the login limit, built so a stranger cannot lock the owner out.

Limits on a login attempt (LOGIN_RATE_LIMIT per LOGIN_RATE_WINDOW seconds each):
- per client (its real address, see PORTAL_TRUSTED_PROXIES): every attempt, whatever the
  email, in the rate limiter (portal.auth.views). A guessing client stops itself.
- per account, here: failed logins are kept for one window in `login_failure` (email, client,
  time), in the database so every worker and host sees them and a Redis outage changes nothing.
  A client that failed LOGIN_RATE_LIMIT times on an email is refused on it. Once an email has
  LOGIN_RATE_LIMIT failures from anywhere it is under attack: every client that failed on it
  in the window is refused before its password is checked, while a client with no failure on
  it still has its password checked. So guessing from many addresses gets one wrong guess per
  new address per window, and the owner, who has not failed, logs in.

Why not a plain per-email limit (the old one): a stranger failing on purpose would lock the
owner out for as long as they keep failing. Why not a slow-down per email: it costs the owner
the same as the attacker and does not bound guesses from many addresses.
"""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, func, select

from portal.auth.models import LoginFailure
from portal.db_types import utcnow
from portal.errors import N_, RateLimited
from portal.extensions import db

TOO_MANY = N_("Too many login attempts. Wait a few minutes and try again.")


def check(email: str, client: str, *, limit: int, window: int) -> None:
    """Raise RateLimited when `client` may not try `email` now (nothing is written)."""
    since = utcnow() - timedelta(seconds=window)
    recent = (LoginFailure.email == email, LoginFailure.failed_at >= since)
    total = db.session.scalar(select(func.count()).where(*recent)) or 0
    if total == 0:
        return
    mine = db.session.scalar(select(func.count()).where(*recent, LoginFailure.client == client[:64])) or 0
    if mine >= limit or (total >= limit and mine > 0):
        raise RateLimited(TOO_MANY, retry_after=window)


def record_failure(email: str, client: str, *, window: int) -> None:
    """Keep one failed login (the caller commits); failures older than the window go, so the
    table holds one window of failures at most."""
    db.session.execute(delete(LoginFailure).where(LoginFailure.failed_at < utcnow() - timedelta(seconds=window)))
    db.session.add(LoginFailure(email=email, client=client[:64]))
