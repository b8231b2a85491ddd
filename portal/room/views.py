"""The attendee room: /room/<token>, its HTTP actions (chat fallback, CTA click), its socket
/ws/room/<token> and the polling fallback /room/<token>/state."""
from __future__ import annotations

from flask import Blueprint, make_response, redirect, render_template, request, url_for

from portal import ratelimit, realtime, signals
from portal.attendance import presence
from portal.errors import NotFound, PortalError, refusal_shown
from portal.extensions import db
from portal.htmx import redirect_to
from portal.media import players
from portal.realtime import catchup, polling
from portal.room import chat, cohorts, cta, fragments, pages, seat, sockets
from portal.room.access import registration_or_404
from portal.room.channels import room_channel

bp = Blueprint("room", __name__)  # no prefix: the socket lives under /ws/
realtime.route(bp, "/ws/room/<token>", endpoint="socket", admit=sockets.admit,
               on_open=sockets.on_open, on_close=sockets.on_close)


@bp.get("/room/<token>")
def page(token: str):
    reg = registration_or_404(token)
    players.allow(reg.webinar)  # the player's origins (media, or the embed's frame), nothing wider
    response = make_response(render_template("room/page.html", **pages.room_page_context(reg, token=token)))
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


@bp.get("/room/<token>/state")
def state(token: str):
    """The polling fallback: the snapshot since ?since=<id>, 304 while the room is unchanged.
    A page that polls is present (HTTP presence: noted in memory, written once a second)."""
    presence.polled(token)
    if (report := request.headers.get("X-Player-Report")) is not None:
        signals.send(signals.room_polled, token, report=report)
    cohort = request.args.get("c", "")[:40]  # which channel's version to compare; data comes from the database
    cached = polling.not_modified("r", token, request.headers.get("If-None-Match"),
                                  lambda webinar_id: room_channel(webinar_id, cohort))
    if cached is not None:
        return cached
    reg = registration_or_404(token)
    ratelimit.poll(f"r:{reg.registration_id}")  # the 304 above is not counted: it is cheaper
    since = catchup.since_id(request.args.get("since", ""))
    return polling.state("r", token, reg.webinar_id, channel=room_channel(reg.webinar_id, cohorts.of(reg).channel_key),
                         render=lambda: fragments.snapshot(reg, reg.webinar, since_message_id=since))


@bp.post("/room/<token>/chat")
def chat_post(token: str):
    """HTTP fallback of the socket's "chat" frame (htmx, swap none: oob regions only).

    Fields: body, client_id (the page's id of the message: a retry of a stored one answers
    that message again and stores nothing)."""
    reg = registration_or_404(token)
    client_id = None
    try:
        client_id = chat.client_id_of(request.form.get("client_id"))
        message = chat.post(reg, request.form.get("body"), client_id=client_id)
    except PortalError as error:  # shown next to the form, like a form's field error
        db.session.rollback()
        refusal_shown(error)  # the audit record
        response = make_response(sockets.feedback(error.translated(), error=True, status=error.status_code,
                                                  client_id=client_id), error.status_code)
        if retry := error.details.get("retry_after"):
            response.headers["Retry-After"] = str(retry)
        return response
    return sockets.feedback("", client_id=client_id) + fragments.messages_oob(fragments.message_items([message]))


@bp.post("/room/<token>/cta")
def cta_click(token: str):
    """Record the click, then send the viewer on to the offer (303; htmx: HX-Redirect)."""
    reg = registration_or_404(token)
    return redirect_to(cta.click(reg))


@bp.route("/room/<token>/cancel", methods=["GET", "POST"])
def cancel_seat(token: str):
    """Cancel my seat: GET asks (the confirm step), POST cancels; then the cancelled page."""
    if request.method == "GET":
        reg = registration_or_404(token)
        return _private(render_template("room/cancel.html", webinar=reg.webinar, reg=reg, token=token))
    try:
        reg = registration_or_404(token)
    except NotFound:
        reg = seat.cancelled_or_404(token)  # a repeated POST (double click, back button)
    seat.cancel(reg)
    return _private(render_template("room/cancelled.html", webinar=reg.webinar, token=token))


@bp.post("/room/<token>/keep")
def keep_seat(token: str):
    """Changed my mind: the cancelled seat back, with the same link."""
    seat.keep(seat.cancelled_or_404(token))
    return redirect(url_for("room.page", token=token), code=303)


def _private(html: str):
    response = make_response(html)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response
