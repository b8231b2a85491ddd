"""Q&A URLs: the attendee's ask and vote (HTTP; votes also come over the room socket:
portal.qa.sockets) and the hosts' actions from the console."""
from __future__ import annotations

from flask import Blueprint, make_response, redirect, request, url_for
from flask_login import current_user, login_required

from portal.errors import PortalError, refusal_shown
from portal.extensions import db
from portal.htmx import is_htmx
from portal.qa import access, fragments, questions
from portal.room.access import registration_or_404

bp = Blueprint("qa", __name__)


@bp.post("/room/<token>/qa")
def ask(token: str):
    """Field `body`. Answers the feedback line and the asker's own view (oob regions)."""
    reg = registration_or_404(token)
    try:
        questions.ask(reg, request.form.get("body"))
    except PortalError as error:
        return _refused(error)
    return fragments.feedback() + fragments.own_view(reg.webinar, lead_id=reg.lead_id)


@bp.post("/room/<token>/qa/vote")
def vote(token: str):
    """Fields `question_id`, `up` ("1": upvote, else withdraw): the socket frame's HTTP fallback."""
    reg = registration_or_404(token)
    try:
        questions.vote(reg, request.form.get("question_id"), up=request.form.get("up") == "1")
    except PortalError as error:
        return _refused(error)
    return fragments.feedback() + fragments.room_list(reg.webinar, viewer_lead_id=reg.lead_id, oob=True) \
        + fragments.votes(reg.webinar, lead_id=reg.lead_id)


def _refused(error: PortalError):
    """Shown next to the form like a field error; nothing was stored."""
    db.session.rollback()
    refusal_shown(error)  # the audit record
    response = make_response(fragments.feedback(error.translated(), error=True), error.status_code)
    if retry := error.details.get("retry_after"):
        response.headers["Retry-After"] = str(retry)
    return response


@bp.post(f"/console/<int:webinar_id>/qa/<int:question_id>/<any({', '.join(questions.HOST_VERBS)}):verb>")
@login_required
def moderate(webinar_id: int, question_id: int, verb: str):
    webinar = access.hosted_or_404(current_user, webinar_id)
    questions.moderate(webinar, question_id, verb, actor=current_user)
    return _console(webinar)


@bp.post("/console/<int:webinar_id>/qa/<int:question_id>/answer")
@login_required
def answer(webinar_id: int, question_id: int):
    """Field `body`: a written answer (auto webinars: it reaches the asker only)."""
    webinar = access.hosted_or_404(current_user, webinar_id)
    questions.answer(webinar, question_id, request.form.get("body"), actor=current_user)
    return _console(webinar)


@bp.post("/console/<int:webinar_id>/qa/settings")
@login_required
def settings(webinar_id: int):
    """Field `moderated` ("1": new questions wait for approval). From the console or the
    organizer's edit page (field `next`: back there)."""
    webinar = access.hosted_or_404(current_user, webinar_id)
    questions.set_moderated(webinar, request.form.get("moderated") == "1", actor=current_user)
    if not is_htmx() and request.form.get("next") == "edit":
        return redirect(url_for("admin.webinar_edit", webinar_id=webinar_id), code=303)
    return _console(webinar)


def _console(webinar):
    """htmx: the console's Q&A region (oob); a plain form post: back to the console."""
    if is_htmx():
        return fragments.console_region(webinar, oob=True)
    return redirect(url_for("console.page", webinar_id=webinar.webinar_id), code=303)
