"""Sessions, Flask-Login wiring, security headers and the CSP."""
from __future__ import annotations

from flask import Flask, Response, request
from flask_babel import lazy_gettext as _l

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


def init_app(app: Flask) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please log in to open this page.")
    login_manager.login_message_category = "info"
    # "basic": a changed client identity only makes the session non-fresh. "strong" would
    # rewrite the session cookie on every anonymous request (no `_id` to compare yet).
    login_manager.session_protection = "basic"

    @app.after_request
    def _headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", csp.policy())
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        if request.is_secure:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        if request.blueprint == "admin":  # personal data: registrations, attendance, users, CSV, ...
            response.headers["Cache-Control"] = "no-store"
        response.vary.add("Accept-Language")
        response.vary.add("HX-Request")
        return response
