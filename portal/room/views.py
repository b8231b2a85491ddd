"""The attendee room: /room/<token> and its HTTP actions (chat fallback, CTA click)."""
from __future__ import annotations

from flask import Blueprint, make_response, redirect, render_template, request

from portal.errors import PortalError
from portal.extensions import db
from portal.room import broadcast, chat, cta, fragments, pages, socket
from portal.room.access import registration_or_404

bp = Blueprint("room", __name__, url_prefix="/room")

broadcast.install()
socket.install()


@bp.get("/<token>")
def page(token: str):
    reg = registration_or_404(token)
    response = make_response(render_template("room/page.html", **pages.room_page_context(reg, token=token)))
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


@bp.post("/<token>/chat")
def chat_post(token: str):
    """HTTP fallback of the socket's "chat" frame (htmx, swap none: oob regions only)."""
    reg = registration_or_404(token)
    try:
        message = chat.post(reg, request.form.get("body"))
    except PortalError as error:  # shown next to the form, like a form's field error
        db.session.rollback()
        response = make_response(socket.feedback(error.message, error=True, status=error.status_code),
                                 error.status_code)
        if retry := error.details.get("retry_after"):
            response.headers["Retry-After"] = str(retry)
        return response
    html = socket.feedback("") + fragments.messages_oob(fragments.message_items([message]))
    return html


@bp.post("/<token>/cta")
def cta_click(token: str):
    """Record the click, then send the viewer on to the offer (303)."""
    reg = registration_or_404(token)
    target = cta.click(reg)
    if request.headers.get("HX-Request"):
        response = make_response("", 204)
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target, code=303)
