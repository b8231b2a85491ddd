"""Bearer authentication of /api/v1: who the token acts as, which scope a call needs, and the
per-token rate limit. No session cookie is read or written: the token is the only credential,
so the API is exempt from CSRF (a cross-site page cannot make a browser attach a bearer token)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import current_app, g, request

from portal.api.problems import InsufficientScope, Unauthorized
from portal.core import tokens
from portal.core.models import ApiToken, User
from portal.errors import N_
from portal.ratelimit import limiter

F = TypeVar("F", bound=Callable[..., Any])

#: Requests per token per minute (every call counts, refused ones included).
REQUESTS_PER_MINUTE = 600
#: Failed authentications per client address per minute before 429.
BAD_TOKENS_PER_MINUTE = 30
_SCOPE = "_api_scope"


def needs(scope: str) -> Callable[[F], F]:
    """Mark a view with the token scope it needs (read, control, webhooks)."""
    assert scope in tokens.SCOPES, scope

    def mark(view: F) -> F:
        setattr(view, _SCOPE, scope)
        return view

    return mark


def scope_of(endpoint: str | None) -> str | None:
    view = current_app.view_functions.get(endpoint or "")
    return getattr(view, _SCOPE, None)


def authenticate() -> None:
    """before_request of the API blueprint: 401 without a valid token, 403 without the scope."""
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    secret = secret.strip()
    if scheme.lower() != "bearer" or not secret:
        raise Unauthorized(N_("This call needs an API token: send the header Authorization: Bearer <token>."))
    token = tokens.authenticate(secret)
    if token is None:
        limiter().hit(f"api-bad-token:{request.remote_addr or 'unknown'}", limit=BAD_TOKENS_PER_MINUTE, window=60,
                      message=N_("Too many requests with invalid API tokens. Wait a minute and try again."))
        g.api_token_error = "invalid_token"
        raise Unauthorized(N_("This API token is not valid: it is unknown or revoked, or its account is disabled."))
    limiter().hit(f"api:{token.token_id}", limit=REQUESTS_PER_MINUTE, window=60,
                  message=N_("Too many API requests with this token. Wait a moment and try again."))
    scope = scope_of(request.endpoint)
    if scope is None or scope not in tokens.scopes_of(token):
        g.api_token_error, g.api_scope = "insufficient_scope", scope or "?"
        raise InsufficientScope(scope or "?")
    g.api_token = token


def current_token() -> ApiToken:
    return g.api_token


def current_user() -> User:
    """The token's user: every call acts as them, with their permissions (never more)."""
    return g.api_token.user
