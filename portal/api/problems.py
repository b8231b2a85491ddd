"""The API's errors as RFC 9457 problem details (portal.errors.problem renders them).

A PortalError raised by a view (403, 404, 409, 422, 429) goes through the app's handler, which
rolls back, records the refusal and answers a problem under /api/. This module adds the HTTP
errors of the API's own blueprint — webargs' 422 with the invalid fields, a body that is not
JSON (400), a body over MAX_CONTENT_LENGTH (413) — and the 401/403 of bearer authentication.
"""
from __future__ import annotations

from typing import Any

from flask import Response, current_app, g, request
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException

from portal.core.models import Webinar
from portal.errors import N_, PortalError, RateLimited, problem, refusal_shown
from portal.extensions import db


class Unauthorized(PortalError):
    status_code = 401
    code = "unauthorized"

    def __init__(self, message: str, *, token_error: str | None = None) -> None:
        super().__init__(message)
        self.token_error = token_error  # RFC 6750 `error` of the WWW-Authenticate answer


class InsufficientScope(PortalError):
    status_code = 403
    code = "insufficient_scope"

    def __init__(self, scope: str) -> None:
        super().__init__(N_("This token lacks the %(scope)s scope this call needs."), details={"scope": scope},
                         scope=scope)


def portal_problem(error: PortalError) -> Response:
    """A refusal inside the API: rolled back, recorded for the token's user (the audit would
    otherwise look for a session user) and the webinar only when it exists, answered as a problem."""
    db.session.rollback()
    token = g.get("api_token")
    webinar_id = (request.view_args or {}).get("webinar_id")
    if webinar_id is not None and db.session.get(Webinar, webinar_id) is None:
        webinar_id = None
    refusal_shown(error, subject={"user_id": token.user_id if token is not None else None, "webinar_id": webinar_id})
    response = problem(error.status_code, error.code, error.translated(), error.details)
    if isinstance(error, RateLimited):
        response.headers["Retry-After"] = str(error.retry_after)
    return response


def _fields(messages: dict[str, Any]) -> str:
    names = sorted({name for where in messages.values() if isinstance(where, dict) for name in where})
    return ", ".join(names) or "?"


def http_problem(error: HTTPException) -> Response:
    """An HTTP error raised inside the API blueprint, as a problem."""
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    messages = data.get("messages") if isinstance(data, dict) else None
    if status == 422 and isinstance(messages, dict):
        return problem(422, "invalid", _("Some fields are not valid: %(fields)s.", fields=_fields(messages)),
                       {"errors": messages})
    if status == 400 and messages:
        return problem(400, "invalid_json", _("The request body is not valid JSON."))
    if status == 413:
        limit = current_app.config.get("MAX_CONTENT_LENGTH") or 0
        return problem(413, "too_large", _("The request body is too large (at most %(n)s bytes).", n=limit))
    if status == 415:
        return problem(415, "unsupported_media_type", _("Send the body as application/json."))
    code = (error.name or "error").lower().replace(" ", "_")
    return problem(status, code, error.description or error.name or "Error")


def add_auth_challenge(response: Response) -> Response:
    """RFC 6750: a 401 names the scheme (and why the token failed); a 403 for scope says so."""
    reason = g.get("api_token_error")
    if response.status_code == 401:
        response.headers["WWW-Authenticate"] = (
            f'Bearer realm="api", error="{reason}"' if reason else 'Bearer realm="api"')
    elif response.status_code == 403 and reason == "insufficient_scope":
        response.headers["WWW-Authenticate"] = f'Bearer realm="api", error="{reason}", scope="{g.api_scope}"'
    return response
