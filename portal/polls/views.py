"""Poll URLs: an attendee's answer (/room/<token>/polls/<id>) and the console's actions
(/console/<webinar_id>/polls...). Refusals are PortalErrors: an answer's under the poll, the
console's by the error handlers (HTMX: in the page's #flash); the audit records them."""
from __future__ import annotations

from flask import Blueprint, make_response, request
from flask_login import current_user, login_required

from portal.core.models import User, Webinar
from portal.core.permissions import Action, require
from portal.errors import NotFound, PortalError, refusal_shown
from portal.extensions import db
from portal.polls import fragments, service
from portal.polls.models import Poll
from portal.room.access import registration_or_404

bp = Blueprint("polls", __name__)


@bp.post("/room/<token>/polls/<int:poll_id>")
def answer(token: str, poll_id: int):
    """Fields: option (once per chosen option). Answers the voter's own poll (oob)."""
    reg = registration_or_404(token)
    try:
        poll = service.answer(reg, poll_id, request.form.getlist("option"))
    except PortalError as error:  # shown under the poll's options, like a form's field error
        db.session.rollback()
        refusal_shown(error)  # the audit record
        return make_response(fragments.refusal(poll_id, error.translated()), error.status_code)
    return fragments.voter_poll(reg, poll)


@bp.post("/console/<int:webinar_id>/polls")
@login_required
def create(webinar_id: int):
    """Fields: question, options (one per line), multiple, results_mode; auto: at, open_sec."""
    webinar = _hosted_or_404(webinar_id)
    form = request.form
    service.create(webinar, actor=_staff(), question=form.get("question"), options=form.get("options"),
                   multiple=bool(form.get("multiple")), results_mode=form.get("results_mode", "live"),
                   at=form.get("at"), open_sec=form.get("open_sec"))
    return fragments.console_region(webinar)


@bp.post("/console/<int:webinar_id>/polls/<int:poll_id>/<any(open, close, delete):action>")
@login_required
def console_action(webinar_id: int, poll_id: int, action: str):
    webinar = _hosted_or_404(webinar_id)
    poll = db.session.get(Poll, poll_id)
    if poll is None or poll.webinar_id != webinar.webinar_id:
        raise NotFound("This poll does not exist.")
    {"open": service.open_poll, "close": service.close_poll, "delete": service.delete_poll}[action](
        poll, actor=_staff())
    return fragments.console_region(webinar)


def _staff() -> User:
    return current_user._get_current_object()


def _hosted_or_404(webinar_id: int) -> Webinar:
    """The webinar whose console the signed-in staff member may open (404 / 403)."""
    webinar = db.session.get(Webinar, webinar_id)
    if webinar is None:
        raise NotFound("No such webinar.")
    require(_staff(), Action.OPEN_CONSOLE, webinar)
    return webinar
