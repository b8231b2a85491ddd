"""GET/POST /login, POST /logout."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from portal.auth import lockout
from portal.auth.forms import LoginForm
from portal.core import users
from portal.core.models import Role, User
from portal.core.permissions import Action, can
from portal.db_types import utcnow
from portal.extensions import db
from portal.ratelimit import limiter

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str | None:
    """Only same-site relative paths are followed after login."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def _landing(user: User) -> str:
    """Where login leads without a ?next: organizers and admins to their dashboard, speakers
    to "My webinars" (SPEC §8)."""
    if can(user, Action.CREATE):
        return url_for("admin.dashboard")
    if user.role == Role.speaker.value:
        return url_for("console.mine")
    return url_for("public.index")


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")) or url_for("public.index"))
    form = LoginForm()
    if form.validate_on_submit():
        limit, window = current_app.config["LOGIN_RATE_LIMIT"], current_app.config["LOGIN_RATE_WINDOW"]
        email, client = users.normalise_email(form.email.data), request.remote_addr or "unknown"
        limiter().hit(f"login:ip:{client}", limit=limit, window=window, message=lockout.TOO_MANY)
        lockout.check(email, client, limit=limit, window=window)
        user = users.authenticate(email, form.password.data)
        if user is None:
            lockout.record_failure(email, client, window=window)
            db.session.commit()
            form.password.errors.append(_("Wrong email or password."))
            return render_template("auth/login.html", form=form), 401
        session.clear()  # no fixation: a fresh session for the authenticated user
        session.permanent = True  # PERMANENT_SESSION_LIFETIME, like the remember cookie
        login_user(user)
        user.last_login_at = utcnow()
        db.session.commit()
        flash(_("Welcome, %(name)s.", name=user.display_name), "success")
        return redirect(_safe_next(request.args.get("next")) or _landing(user))
    status = 422 if form.errors else 200
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
@login_required
def logout():
    """End this user's sessions everywhere (every browser, their open consoles), not just here."""
    users.end_sessions(current_user._get_current_object(), reason="logged_out")  # type: ignore[attr-defined]
    db.session.commit()
    logout_user()
    session.clear()
    flash(_("You are logged out."), "info")
    return redirect(url_for("public.index"))
