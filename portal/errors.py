"""Domain errors and their rendering as a page, an HTMX fragment or JSON."""
from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify, make_response, render_template, request
from flask_babel import gettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy import exc as sa_exc
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES

from portal import signals
from portal.extensions import db
from portal.htmx import is_htmx, with_headers

log = logging.getLogger(__name__)


def N_(message: str) -> str:
    """Mark a message for extraction into the catalogue without translating it here."""
    return message


class Label(str):
    """A word from the product's vocabulary (a status, an operation) that refusal messages
    carry as a parameter and the error handlers translate along with the message."""


def _translate_param(value: Any) -> Any:
    if isinstance(value, Label):
        return gettext(value)
    if isinstance(value, (list, tuple)):
        return "; ".join(str(_translate_param(v)) for v in value)
    return value


class PortalError(Exception):
    """A refusal the user should see. Raised by services, rendered by the error handlers."""

    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, *, details: dict[str, Any] | None = None, **params: Any) -> None:
        # `message` is an English msgid with %(name)s placeholders filled from `params`, so
        # the handlers can show it translated; `.message` is the English text (logs, tests).
        self.msgid = message
        self.params = params
        english = {k: "; ".join(v) if isinstance(v, (list, tuple)) else v for k, v in params.items()}
        self.message = message % english if params else message
        super().__init__(self.message)
        self.details = details or {}

    def translated(self) -> str:
        if not self.params:
            return gettext(self.msgid)
        return gettext(self.msgid, **{k: _translate_param(v) for k, v in self.params.items()})


class Forbidden(PortalError):
    status_code = 403
    code = "forbidden"


class NotFound(PortalError):
    status_code = 404
    code = "not_found"


class Conflict(PortalError):
    """An illegal transition or a clash with the current state."""

    status_code = 409
    code = "conflict"


class Invalid(PortalError):
    status_code = 422
    code = "invalid"


class RateLimited(PortalError):
    status_code = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int = 60) -> None:
        super().__init__(message, details={"retry_after": retry_after})
        self.retry_after = retry_after


def wants_json() -> bool:
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and not is_htmx()


PROBLEM_TYPE = "urn:webinar-portal:problem:"  # + code (portal.api documents every code)
PROBLEM_MEMBERS = frozenset({"type", "title", "status", "detail", "instance"})


def problem(status: int, code: str, message: str, details: dict[str, Any] | None = None) -> Response:
    """An RFC 9457 problem details answer (the JSON API's errors): `detail` is the translated
    message, `code` the portal's error code, `details` become extension members."""
    body: dict[str, Any] = {"type": PROBLEM_TYPE + code, "title": HTTP_STATUS_CODES.get(status, "Error"),
                            "status": status, "detail": message, "code": code}
    body.update({k: v for k, v in (details or {}).items() if k not in PROBLEM_MEMBERS})
    response = jsonify(body)
    response.status_code = status
    response.mimetype = "application/problem+json"
    return response


def render_error(status: int, code: str, message: str, details: dict[str, Any] | None = None) -> Response:
    """Render one error the way the caller asked: problem details under /api/, JSON, HTMX
    fragment or full page."""
    if request.path.startswith("/api/"):
        return problem(status, code, message, details)
    if wants_json():
        body: dict[str, Any] = {"error": {"code": code, "message": message}}
        if details:
            body["error"]["details"] = details
        response = jsonify(body)
    elif is_htmx():
        # Fragments land in the page's flash region whatever the original target was.
        response = with_headers(make_response(render_template("errors/_error.html", status=status, message=message)),
                                retarget="#flash", reswap="innerHTML")
    else:
        response = make_response(render_template("errors/page.html", status=status, message=message))
    response.status_code = status
    return response


_TITLES = {
    400: _l("Bad request"),
    403: _l("You do not have access to this page"),
    404: _l("Page not found"),
    405: _l("Method not allowed"),
    409: _l("This action is not possible right now"),
    413: _l("Request too large"),
    422: _l("Please check the form"),
    429: _l("Too many requests"),
    500: _l("Something went wrong on our side"),
}


def refusal_shown(error: PortalError, *, subject: dict[str, Any] | None = None) -> None:
    """Announce a refusal shown to someone (the audit records it); call after the rollback.
    A failing receiver never turns the refusal into a 500."""
    try:
        signals.send(signals.refusal_shown, error, status=error.status_code, subject=dict(subject or {}))
    except Exception:  # noqa: BLE001 - the user still gets the refusal
        log.exception("recording the refusal %r failed", error.msgid)


#: Seconds a client is asked to wait when the database does not answer (503 Retry-After).
RETRY_AFTER_UNAVAILABLE = 5


def database_unavailable(error: BaseException) -> bool:
    """Is this database error the database being down or unreachable (not a bad query)?"""
    if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError))


def render_unavailable() -> Response:
    """503 with Retry-After, rendered without the database (no user, no layout that needs one):
    JSON, an HTMX fragment, or a page that retries by itself."""
    retry = RETRY_AFTER_UNAVAILABLE
    message = _("The service is briefly unavailable. Please try again in a few seconds.")
    if request.path.startswith("/api/"):
        response = problem(503, "unavailable", message, {"retry_after": retry})
    elif wants_json():
        response = jsonify({"error": {"code": "unavailable", "message": message, "details": {"retry_after": retry}}})
    elif is_htmx():
        response = with_headers(make_response(render_template("errors/_unavailable.html", message=message,
                                                              retry=retry)),
                                retarget="#flash", reswap="innerHTML")
    else:
        response = make_response(render_template("errors/unavailable.html", message=message, retry=retry,
                                                 again=request.method == "GET"))
    response.status_code = 503
    response.headers["Retry-After"] = str(retry)
    response.headers["Cache-Control"] = "no-store"
    return response


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(PortalError)
    def handle_portal_error(error: PortalError):
        db.session.rollback()
        refusal_shown(error)
        response = render_error(error.status_code, error.code, error.translated(), error.details)
        if isinstance(error, RateLimited):
            response.headers["Retry-After"] = str(error.retry_after)
        return response

    @app.errorhandler(CSRFError)
    def handle_csrf(error: CSRFError):
        return render_error(400, "csrf", _("Your session expired or the form is stale. Reload the page and try again."))

    @app.errorhandler(sa_exc.DBAPIError)
    def handle_database_error(error: sa_exc.DBAPIError):
        if not database_unavailable(error):
            return handle_unexpected(error)
        return database_down(error)

    @app.errorhandler(sa_exc.TimeoutError)  # no pooled connection came free in time
    def handle_pool_timeout(error: sa_exc.TimeoutError):
        return database_down(error)

    @app.errorhandler(HTTPException)
    def handle_http(error: HTTPException):
        status = error.code or 500
        return render_error(status, error.name.lower().replace(" ", "_"), str(_TITLES.get(status, error.name)))

    def database_down(error: Exception):
        log.warning("database unavailable on %s %s: %s", request.method, request.path, error)
        try:
            db.session.rollback()
        except Exception:  # noqa: BLE001 - the connection is gone; the session is reset anyway
            db.session.remove()
        return render_unavailable()

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        db.session.rollback()
        return render_error(500, "internal_error", str(_TITLES[500]))
