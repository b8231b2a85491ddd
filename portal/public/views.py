"""GET /, GET /healthz, POST /lang."""
from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, current_app, jsonify, redirect, render_template, request, url_for
from sqlalchemy import or_, select, text

from portal.core.models import Status, Webinar, WebinarType
from portal.db_types import utcnow
from portal.extensions import db
from portal.i18n import LANG_COOKIE

bp = Blueprint("public", __name__)


@bp.get("/")
def index():
    soon = utcnow() - timedelta(hours=6)
    webinars = db.session.scalars(
        select(Webinar)
        .where(
            Webinar.status.in_([Status.scheduled.value, Status.live.value, Status.paused.value]),
            or_(Webinar.type == WebinarType.auto.value, Webinar.scheduled_at.is_(None), Webinar.scheduled_at >= soon),
        )
        .order_by(Webinar.status != Status.live.value, Webinar.scheduled_at.is_(None), Webinar.scheduled_at)
        .limit(50)
    ).all()
    return render_template("public/index.html", webinars=webinars)


@bp.get("/healthz")
def healthz():
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:  # any database failure means "not healthy"
        db.session.rollback()
        current_app.logger.exception("health check: database does not answer")
        return jsonify(status="unavailable", database="down"), 503
    return jsonify(status="ok", database="up")


@bp.post("/lang")
def set_language():
    lang = request.form.get("lang", "")
    same_site = request.referrer and request.referrer.startswith(request.host_url)
    target = request.referrer if same_site else url_for("public.index")
    response = redirect(target)
    if lang in current_app.config["LANGUAGES"]:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 24 * 3600, samesite="Lax",
                            secure=current_app.config["SESSION_COOKIE_SECURE"], httponly=True)
    return response
