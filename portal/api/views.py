"""API v1 routes: webinars, their status and CTA hooks, registrations, attendance, the event
feed and webhook endpoints. Thin views: parse (schemas) → load or 404/403 → one domain call."""
from __future__ import annotations

from typing import Any

from flask import Response
from flask_smorest import Blueprint
from sqlalchemy import Select, or_, select
from werkzeug.exceptions import HTTPException

from portal.api import auth, cursors, problems, schemas
from portal.api.auth import needs
from portal.attendance.models import Attendance
from portal.core import lifecycle
from portal.core.models import OutboxEvent, User, Webinar, WebinarSpeaker
from portal.core.permissions import Action, can, require
from portal.errors import N_, NotFound, PortalError
from portal.extensions import db
from portal.registration.models import Registration
from portal.webhooks import endpoints

bp = Blueprint("api", __name__, url_prefix="/api/v1", description="JSON API v1 (bearer tokens).")
bp.before_request(auth.authenticate)
bp.register_error_handler(HTTPException, problems.http_problem)
bp.register_error_handler(PortalError, problems.portal_problem)


@bp.after_request
def _answer_headers(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"  # answers carry personal data
    return problems.add_auth_challenge(response)


W = "/webinars/<int(min=1, max=2147483647):webinar_id>"
PROBLEM = {"schema": schemas.ProblemSchema, "content_type": "application/problem+json"}


def answers(*codes: int):  # noqa: ANN201 - a decorator stack
    """Document the problem answers a route gives besides 401, 429 and the default."""
    def wrap(view):  # noqa: ANN001, ANN202
        for code in sorted({401, 429, *codes}, reverse=True):
            view = bp.alt_response(code, description=_DESCRIPTIONS[code], **PROBLEM)(view)
        return view
    return wrap


_DESCRIPTIONS = {
    400: "Bad request: the body is not JSON, or the cursor is not valid.",
    401: "No token, or a token that is unknown, revoked or whose account is disabled.",
    403: "The token lacks the scope, or its user may not do this on this webinar.",
    404: "No such webinar / endpoint.",
    409: "The transition is not possible from the current state.",
    413: "The body is larger than the portal accepts.",
    422: "Invalid fields (see `errors`).",
    429: "Too many requests with this token (see Retry-After).",
}


def _user() -> User:
    return auth.current_user()


def _webinar(webinar_id: int, action: Action) -> Webinar:
    """The webinar if the token's user may do `action` on it: 404 unknown, 403 not theirs (as
    the console and the organizer pages answer)."""
    webinar = db.session.get(Webinar, webinar_id)
    if webinar is None:
        raise NotFound(N_("This webinar does not exist."))
    require(_user(), action, webinar)
    return webinar


def _visible_webinars(user: User) -> Select[Any]:
    """Webinars whose console `user` may open (permissions.OPEN_CONSOLE as a filter)."""
    query = select(Webinar)
    if can(user, Action.MANAGE_USERS):  # admins: all
        return query
    speaking = select(WebinarSpeaker.webinar_id).where(WebinarSpeaker.user_id == user.user_id)
    return query.where(or_(Webinar.owner_user_id == user.user_id, Webinar.webinar_id.in_(speaking)))


def _page(query: Select[Any], key: Any, scope: str, args: dict[str, Any], key_of) -> dict[str, Any]:  # noqa: ANN001
    """One keyset page and the signed cursor of the next (None on the last page)."""
    after = cursors.read(scope, args["cursor"])
    if after is not None:
        query = query.where(key > after)
    limit = args["limit"]
    rows = list(db.session.scalars(query.order_by(key).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return {"data": rows, "next_cursor": cursors.make(scope, key_of(rows[-1])) if more and rows else None}


@bp.route("/webinars", methods=["GET"], tags=["Webinars"])
@bp.arguments(schemas.PageQuery, location="query")
@bp.response(200, schemas.WebinarPage)
@answers(400, 403, 422)
@needs("read")
def list_webinars(args: dict[str, Any]):
    """Webinars the token's user may open the console of (scope: read)."""
    user = _user()
    return _page(_visible_webinars(user), Webinar.webinar_id, f"webinars:{user.user_id}", args,
                 lambda w: w.webinar_id)


@bp.route(W, methods=["GET"], tags=["Webinars"])
@bp.response(200, schemas.WebinarSchema)
@answers(403, 404)
@needs("read")
def get_webinar(webinar_id: int):
    """One webinar (scope: read)."""
    return _webinar(webinar_id, Action.OPEN_CONSOLE)


def _change(outcome: lifecycle.Outcome, webinar_id: int) -> dict[str, Any]:
    webinar = db.session.get(Webinar, webinar_id)
    return {"changed": outcome.changed, "before": outcome.before, "after": outcome.after, "webinar": webinar}


@bp.route(W + "/status", methods=["POST"], tags=["Webinars"])
@bp.arguments(schemas.StatusBody)
@bp.response(200, schemas.ChangeSchema)
@answers(400, 403, 404, 409, 413, 422)
@needs("control")
def set_status(body: dict[str, Any], webinar_id: int):
    """Start or stop the webinar through Core's hook, as the console does (scope: control).

    A repeat of the current state answers 200 with `changed: false`; an illegal transition 409."""
    webinar = _webinar(webinar_id, Action.CONTROL)
    outcome = lifecycle.core_webinar_set_status(webinar, body["action"], actor=_user())
    return _change(outcome, webinar_id)


@bp.route(W + "/cta", methods=["POST"], tags=["Webinars"])
@bp.arguments(schemas.CtaBody)
@bp.response(200, schemas.ChangeSchema)
@answers(400, 403, 404, 409, 413, 422)
@needs("control")
def set_cta(body: dict[str, Any], webinar_id: int):
    """Show or hide the call-to-action through Core's hook (scope: control)."""
    webinar = _webinar(webinar_id, Action.SET_CTA)
    outcome = lifecycle.core_webinar_set_cta_visibility(webinar, body["visibility"], actor=_user())
    return _change(outcome, webinar_id)


@bp.route(W + "/registrations", methods=["GET"], tags=["Webinars"])
@bp.arguments(schemas.PageQuery, location="query")
@bp.response(200, schemas.RegistrationPage)
@answers(400, 403, 404, 422)
@needs("read")
def list_registrations(args: dict[str, Any], webinar_id: int):
    """The webinar's registrations, oldest first (scope: read; the webinar's owner or an admin)."""
    _webinar(webinar_id, Action.VIEW_REPORTS)
    query = select(Registration).where(Registration.webinar_id == webinar_id)
    return _page(query, Registration.registration_id, f"registrations:{webinar_id}", args,
                 lambda r: r.registration_id)


@bp.route(W + "/attendance", methods=["GET"], tags=["Webinars"])
@bp.arguments(schemas.PageQuery, location="query")
@bp.response(200, schemas.AttendancePage)
@answers(400, 403, 404, 422)
@needs("read")
def list_attendance(args: dict[str, Any], webinar_id: int):
    """The webinar's attendance rows (one per connection: entered, left, completed), oldest first
    (scope: read; the webinar's owner or an admin)."""
    _webinar(webinar_id, Action.VIEW_REPORTS)
    query = select(Attendance).where(Attendance.webinar_id == webinar_id)
    return _page(query, Attendance.attendance_id, f"attendance:{webinar_id}", args, lambda a: a.attendance_id)


@bp.route("/events", methods=["GET"], tags=["Events"])
@bp.arguments(schemas.FeedQuery, location="query")
@bp.response(200, schemas.FeedPage)
@answers(403, 404, 422)
@needs("read")
def feed(args: dict[str, Any]):
    """Events in commit order after `after` (their `sequence`): the pull alternative to webhooks
    (scope: read; the events of webinars the user reports on: their own, an admin's all)."""
    user = _user()
    query = select(OutboxEvent).where(OutboxEvent.sequence.is_not(None), OutboxEvent.sequence > args["after"])
    if args["webinar_id"] is not None:
        _webinar(args["webinar_id"], Action.VIEW_REPORTS)
        query = query.where(OutboxEvent.webinar_id == args["webinar_id"])
    elif not can(user, Action.MANAGE_USERS):
        query = query.where(OutboxEvent.webinar_id.in_(
            select(Webinar.webinar_id).where(Webinar.owner_user_id == user.user_id)))
    limit = args["limit"]
    rows = list(db.session.scalars(query.order_by(OutboxEvent.sequence).limit(limit + 1)))
    events = [row.envelope() for row in rows[:limit]]
    return {"data": events, "next_after": events[-1]["sequence"] if events else args["after"],
            "has_more": len(rows) > limit}


@bp.route("/webhooks", methods=["GET"], tags=["Webhooks"])
@bp.response(200, schemas.WebhookList)
@answers(403)
@needs("webhooks")
def list_webhooks():
    """Webhook endpoints the user manages (scope: webhooks; admins: all)."""
    return {"data": [endpoints.endpoint_json(e) for e in endpoints.list_endpoints(_user())]}


@bp.route("/webhooks", methods=["POST"], tags=["Webhooks"])
@bp.arguments(schemas.WebhookBody)
@bp.response(201, schemas.WebhookCreated)
@answers(400, 403, 413, 422)
@needs("webhooks")
def create_webhook(body: dict[str, Any]):
    """Register an endpoint; the answer carries its signing secret, shown only this once
    (scope: webhooks; organizers and admins)."""
    endpoint, secret = endpoints.create_endpoint(_user(), body["url"], body["description"], body["events"],
                                                 body["webinar_id"])
    db.session.commit()
    return {**endpoints.endpoint_json(endpoint), "secret": secret}


@bp.route("/webhooks/<int(min=1, max=2147483647):endpoint_id>", methods=["DELETE"], tags=["Webhooks"])
@bp.response(204)
@answers(403, 404)
@needs("webhooks")
def delete_webhook(endpoint_id: int):
    """Delete an endpoint and its pending deliveries (scope: webhooks)."""
    endpoints.delete_endpoint(_user(), endpoint_id)
    db.session.commit()
    return None


