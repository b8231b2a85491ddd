"""Speaker console: /console/<webinar_id> and its actions (all through Core or moderation)."""
from __future__ import annotations

from flask import Blueprint, make_response, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from portal.console import service
from portal.core import lifecycle
from portal.core.permissions import Action, require
from portal.room import fragments, moderation

bp = Blueprint("console", __name__, url_prefix="/console")


@bp.get("/<int:webinar_id>")
@login_required
def page(webinar_id: int):
    webinar = service.webinar_or_404(webinar_id)
    require(current_user, Action.OPEN_CONSOLE, webinar)
    response = make_response(render_template("console/page.html", **service.page_context(webinar)))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/<int:webinar_id>/<any(start, stop):action>")
@login_required
def set_status(webinar_id: int, action: str):
    webinar = service.webinar_or_404(webinar_id)
    lifecycle.core_webinar_set_status(webinar, action, actor=current_user)
    return _region(webinar, "controls")


@bp.post("/<int:webinar_id>/cta/<any(show, hide):choice>")
@login_required
def set_cta(webinar_id: int, choice: str):
    webinar = service.webinar_or_404(webinar_id)
    visibility = "visible" if choice == "show" else "hidden"
    lifecycle.core_webinar_set_cta_visibility(webinar, visibility, actor=current_user)
    return _region(webinar, "cta")


@bp.post("/<int:webinar_id>/messages/<int:message_id>/hide")
@login_required
def hide_message(webinar_id: int, message_id: int):
    webinar = service.webinar_or_404(webinar_id)
    message = moderation.hide_message(webinar, message_id, actor=current_user)
    return _after(webinar, fragments.messages_oob(fragments.message_items(
        [message], audience="console", muted=fragments.muted_leads(webinar_id))))


@bp.post("/<int:webinar_id>/leads/<int:lead_id>/<any(mute, unmute, ban):verb>")
@login_required
def moderate_lead(webinar_id: int, lead_id: int, verb: str):
    webinar = service.webinar_or_404(webinar_id)
    if verb == "ban":
        moderation.ban(webinar, lead_id, actor=current_user)
    else:
        moderation.set_muted(webinar, lead_id, muted=verb == "mute", actor=current_user)
    return _region(webinar, "attendees")


@bp.post("/<int:webinar_id>/chat")
@login_required
def chat_post(webinar_id: int):
    webinar = service.webinar_or_404(webinar_id)
    message = service.post_message(current_user, webinar, request.form.get("body"))
    return _after(webinar, fragments.messages_oob(fragments.message_items(
        [message], audience="console", muted=fragments.muted_leads(webinar_id))))


def _region(webinar, name: str):
    """htmx: the changed region (oob); a plain form post: back to the console."""
    return _after(webinar, fragments.console_region(name, webinar, oob=True))


def _after(webinar, html: str):
    if request.headers.get("HX-Request"):
        return html
    return redirect(url_for("console.page", webinar_id=webinar.webinar_id), code=303)
