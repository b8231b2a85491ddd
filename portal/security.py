"""Sessions, Flask-Login wiring, security headers and the CSP."""
from __future__ import annotations

from typing import Any

from flask import Flask, Response, request
from flask.sessions import SecureCookieSessionInterface, SessionMixin
from flask_babel import lazy_gettext as _l
from itsdangerous import URLSafeTimedSerializer

from portal import csp
from portal.core.models import User
from portal.extensions import db, login_manager


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """The staff member of a session or remember cookie whose id ("<user_id>:<session_version>",
    User.get_id) is still current: a bumped version (logout, password reset, role change,
    disabling) ends every session signed before, a bare id (older cookie, forgery) is refused."""
    ident, _, version = user_id.partition(":")
    if not (ident.isdigit() and version.isdigit()):
        return None
    user = db.session.get(User, int(ident))
    if user is None or not user.is_staff or user.is_disabled or user.session_version != int(version):
        return None
    return user


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, with two savings on every request (issue 14, the 304
    poll): the signing serializer is built once per secret key rather than per request, and
    a 304 (a poll told "nothing changed") writes no cookie unless the session was changed —
    SESSION_REFRESH_EACH_REQUEST would otherwise re-sign a staff member's permanent session
    on every poll; the next full answer refreshes it."""

    _cached: tuple[Any, URLSafeTimedSerializer | None] | None = None

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        key = (app.secret_key, tuple(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        cached = self._cached
        if cached is None or cached[0] != key:
            cached = self._cached = (key, super().get_signing_serializer(app))
        return cached[1]

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        if response.status_code == 304 and not session.modified:
            return
        super().save_session(app, session, response)


#: Headers every response carries unless its view set its own (built once, not per request).
_FIXED = tuple((name, name.lower(), value) for name, value in (
    ("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "same-origin"), ("X-Frame-Options", "DENY")))
_VARY = ("Accept-Language", "HX-Request")
_VARY_HEADER = ", ".join(_VARY)


def init_app(app: Flask) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please log in to open this page.")
    login_manager.login_message_category = "info"
    # "basic": a changed client identity only makes the session non-fresh. "strong" would
    # rewrite the session cookie on every anonymous request (no `_id` to compare yet).
    login_manager.session_protection = "basic"
    app.session_interface = SessionInterface()  # one per app: its serializer is this app's

    @app.after_request
    def _headers(response: Response) -> Response:
        headers = response.headers
        present = set(headers.keys(lower=True))  # one pass over the list, not one per header
        if "vary" in present:
            response.vary.update(_VARY)
        else:  # the common case: written as one ready string, not parsed and joined per request
            headers.add("Vary", _VARY_HEADER)
        if request.blueprint == "admin":  # personal data: registrations, attendance, users, CSV, ...
            headers["Cache-Control"] = "no-store"
        if response.status_code == 304:
            # RFC 9110 §15.4.5: a 304 carries the validator and caching fields (ETag,
            # Cache-Control, Vary), not the rest of the 200's; the client keeps those of the
            # 200 it revalidated. The polls' 304s (issue 14) are read by script, where CSP,
            # framing and sniffing rules do not apply anyway.
            return response
        if "content-security-policy" not in present:
            headers.add("Content-Security-Policy", csp.policy())  # the string is cached (csp._policy)
        for name, lower, value in _FIXED:
            if lower not in present:
                headers.add(name, value)
        if request.is_secure and "strict-transport-security" not in present:
            headers.add("Strict-Transport-Security", "max-age=31536000")
        return response
