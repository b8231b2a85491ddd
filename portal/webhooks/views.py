"""/admin/webhooks: endpoints (list, new, detail with the delivery log), rotate, enable,
delete, redeliver, replay since…, dead letters. Organizers manage their own endpoints, admins
all. The pages never wait for a delivery: they only queue rows the dispatcher picks up."""
from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from portal.core.events import EVENTS
from portal.core.models import User, Webinar
from portal.core.permissions import Action, can, require
from portal.errors import Invalid, PortalError
from portal.extensions import db, login_manager
from portal.webhooks import endpoints
from portal.webhooks.models import DEAD, WebhookAttempt

bp = Blueprint("webhooks", __name__, url_prefix="/admin/webhooks")


def _actor() -> User:
    return current_user._get_current_object()  # type: ignore[attr-defined,no-any-return]


@bp.before_request
def _staff_only():  # noqa: ANN202
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    require(_actor(), Action.CREATE)
    return None


@bp.context_processor
def _helpers() -> dict[str, object]:
    """`may(...)` for the organizer pages' navigation (admin/_base.html)."""
    def may(action: str, webinar: Webinar | None = None) -> bool:
        return current_user.is_authenticated and can(_actor(), Action[action], webinar)

    return {"may": may}


@bp.after_request
def _no_store(response):  # noqa: ANN001, ANN202
    response.headers["Cache-Control"] = "no-store"
    return response


def _webinars() -> list[Webinar]:
    query = select(Webinar).order_by(Webinar.title)
    if not endpoints.sees_all(_actor()):
        query = query.where(Webinar.owner_user_id == _actor().user_id)
    return list(db.session.scalars(query))


@bp.get("/")
def index():  # noqa: ANN201
    items = endpoints.list_endpoints(_actor())
    return render_template("admin/webhooks/list.html", endpoints=items, section="webhooks")


@bp.route("/new", methods=["GET", "POST"])
def new():  # noqa: ANN201
    error = None
    if request.method == "POST":
        raw_webinar = request.form.get("webinar_id", "").strip()
        try:
            try:
                webinar_id = int(raw_webinar) if raw_webinar else None
            except ValueError as bad:
                raise Invalid("Choose a webinar from the list.") from bad
            endpoint, secret = endpoints.create_endpoint(
                _actor(), request.form.get("url", ""), request.form.get("description", ""),
                request.form.getlist("events"), webinar_id)
            db.session.commit()
        except PortalError as refused:
            db.session.rollback()
            error = refused.translated()
        else:
            # The secret is shown once in this answer (never flashed: the session cookie is not secret).
            return render_template("admin/webhooks/secret.html", endpoint=endpoint, secret=secret,
                                   section="webhooks"), 201
    return render_template("admin/webhooks/form.html", error=error, events=sorted(EVENTS), webinars=_webinars(),
                           form=request.form, section="webhooks"), 422 if error else 200


@bp.get("/<int:endpoint_id>")
def show(endpoint_id: int, *, error: str | None = None, notice: str | None = None, status: int = 200):  # noqa: ANN201
    endpoint = endpoints.get_endpoint(_actor(), endpoint_id)
    only = request.args.get("status") or None
    deliveries = endpoints.deliveries(endpoint, status=only, limit=100)
    attempts: dict[int, list[WebhookAttempt]] = {}
    if deliveries:
        for attempt in db.session.scalars(
                select(WebhookAttempt).where(WebhookAttempt.delivery_id.in_([d.delivery_id for d in deliveries]))
                .order_by(WebhookAttempt.attempt_id.desc())):
            attempts.setdefault(attempt.delivery_id, []).append(attempt)
    return render_template("admin/webhooks/show.html", endpoint=endpoint, deliveries=deliveries, attempts=attempts,
                           only=only, error=error, notice=notice, secrets=endpoints.active_secrets(endpoint),
                           section="webhooks"), status


def _done(endpoint_id: int):  # noqa: ANN202
    return redirect(url_for("webhooks.show", endpoint_id=endpoint_id), code=303)


@bp.post("/<int:endpoint_id>/rotate")
def rotate(endpoint_id: int):  # noqa: ANN201
    secret = endpoints.rotate_secret(_actor(), endpoint_id)
    db.session.commit()
    endpoint = endpoints.get_endpoint(_actor(), endpoint_id)
    return render_template("admin/webhooks/secret.html", endpoint=endpoint, secret=secret, rotated=True,
                           section="webhooks"), 201


@bp.post("/<int:endpoint_id>/enabled")
def set_enabled(endpoint_id: int):  # noqa: ANN201
    try:
        endpoints.set_enabled(_actor(), endpoint_id, request.form.get("enabled") == "1")
        db.session.commit()
    except PortalError as refused:
        db.session.rollback()
        if refused.status_code == 404:
            raise
        return show(endpoint_id, error=refused.translated(), status=422)
    return _done(endpoint_id)


@bp.post("/<int:endpoint_id>/delete")
def delete(endpoint_id: int):  # noqa: ANN201
    endpoints.delete_endpoint(_actor(), endpoint_id)
    db.session.commit()
    return redirect(url_for("webhooks.index"), code=303)


@bp.post("/deliveries/<int:delivery_id>/redeliver")
def redeliver(delivery_id: int):  # noqa: ANN201
    delivery = endpoints.redeliver(_actor(), delivery_id)
    db.session.commit()
    if request.form.get("back") == "dead":
        return redirect(url_for("webhooks.dead"), code=303)
    return _done(delivery.endpoint_id)


@bp.post("/<int:endpoint_id>/replay")
def replay(endpoint_id: int):  # noqa: ANN201
    raw = request.form.get("since", "").strip()
    try:
        try:
            since = datetime.fromisoformat(raw)
        except ValueError as bad:
            raise Invalid("Give the start of the replay as a date and time (UTC), e.g. 2026-12-01T09:00.") from bad
        since = since.replace(tzinfo=UTC) if since.tzinfo is None else since.astimezone(UTC)
        count = endpoints.replay_since(_actor(), endpoint_id, since)
        db.session.commit()
    except PortalError as refused:
        db.session.rollback()
        if refused.status_code == 404:
            raise
        return show(endpoint_id, error=refused.translated(), status=422)
    return show(endpoint_id, notice=count)


@bp.get("/dead")
def dead():  # noqa: ANN201
    return render_template("admin/webhooks/dead.html", deliveries=endpoints.dead_letters(_actor()),
                           section="webhooks", DEAD=DEAD)


__all__ = ["bp"]
