"""Sessions, Flask-Login wiring, security headers and the CSP."""
from __future__ import annotations

from flask import Flask, Response, request
from flask_babel import lazy_gettext as _l

from portal.core.models import User
from portal.extensions import db, login_manager

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "media-src 'self' blob: https:",
        "worker-src 'self' blob:",
        "connect-src 'self' https:",
        "frame-src https:",
        "frame-ancestors 'none'",
        "base-uri 'self'",
        "form-action 'self'",
    ]
)


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    if not user_id.isdigit():
        return None
    user = db.session.get(User, int(user_id))
    return user if user is not None and user.is_staff else None


def init_app(app: Flask) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please log in to open this page.")
    login_manager.login_message_category = "info"
    # "basic": a changed client identity only makes the session non-fresh. "strong" would
    # rewrite the session cookie on every anonymous request (no `_id` to compare yet).
    login_manager.session_protection = "basic"

    @app.after_request
    def _headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        if request.is_secure:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        response.vary.add("Accept-Language")
        response.vary.add("HX-Request")
        return response
