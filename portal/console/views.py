"""Speaker console: /console/<webinar_id>, its actions (all through Core or moderation), its
socket /ws/console/<webinar_id> and the polling fallback /console/<webinar_id>/state."""
from __future__ import annotations

from flask import Blueprint, make_response, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from portal import ratelimit, realtime
from portal.console import fragments, service, sockets
from portal.core import lifecycle
from portal.htmx import is_htmx, redirect_to
from portal.realtime import catchup, polling
from portal.room import cohorts, moderation
from portal.room.channels import console_channel

bp = Blueprint("console", __name__)  # no prefix: the socket lives under /ws/


realtime.route(bp, "/ws/console/<int:webinar_id>", endpoint="socket",
               admit=lambda webinar_id: sockets.admit(current_user._get_current_object(), webinar_id,
                                                      request.args.get("cohort")))


@bp.get("/console/")
@login_required
def mine():
    """ "My webinars": every console the signed-in staff member may open (SPEC §8)."""
    user = current_user._get_current_object()  # type: ignore[attr-defined]
    service.require_staff(user)
    response = make_response(render_template("console/mine.html", items=service.my_webinars(user)))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/console/<int:webinar_id>")
@login_required
def page(webinar_id: int):
    webinar = service.console_or_404(current_user, webinar_id)
    view = fragments.AttendeeView.from_args(request.args.get("q"), request.args.get("page"))
    context = service.page_context(webinar, view=view, cohort=request.args.get("cohort"))
    response = make_response(render_template("console/page.html", **context))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/console/<int:webinar_id>/state")
def state(webinar_id: int):
    """The polling fallback: every console region and the chat since ?since=<id>."""
    staff = current_user._get_current_object()  # type: ignore[attr-defined]
    webinar = service.console_or_404(staff, webinar_id)
    subject = str(staff.user_id)  # the loader let only a signed-in staff member through
    cohort = (request.args.get("cohort") or "")[:40] or None  # names a channel version only; data: watched()
    key = cohorts.channel_key(webinar_id, cohort)
    cached = polling.not_modified("c", subject, request.headers.get("If-None-Match"),
                                  lambda scope: console_channel(scope, key))
    if cached is not None:
        return cached
    ratelimit.poll(f"c:{staff.user_id}")  # the 304 above is not counted: it is cheaper
    since = catchup.since_id(request.args.get("since", ""))
    return polling.state("c", subject, webinar_id, channel=console_channel(webinar_id, key),
                         render=lambda: fragments.snapshot(staff, webinar, since_message_id=since, cohort=cohort))


@bp.post("/console/<int:webinar_id>/<any(start, stop):action>")
@login_required
def set_status(webinar_id: int, action: str):
    webinar = service.console_or_404(current_user, webinar_id)
    starts_at = service.start_time_of(webinar, request.form.get("starts_at"))
    outcome = lifecycle.core_webinar_set_status(webinar, action, actor=current_user, starts_at=starts_at)
    if (run := service.started_run(webinar, outcome)) is not None:  # watch the new run's chat
        return redirect_to(url_for("console.page", webinar_id=webinar.webinar_id, cohort=run))
    return _region(webinar, "controls")


@bp.post("/console/<int:webinar_id>/cta/<any(show, hide):choice>")
@login_required
def set_cta(webinar_id: int, choice: str):
    webinar = service.console_or_404(current_user, webinar_id)
    visibility = "visible" if choice == "show" else "hidden"
    lifecycle.core_webinar_set_cta_visibility(webinar, visibility, actor=current_user)
    return _region(webinar, "cta")


@bp.get("/console/<int:webinar_id>/attendees")
@login_required
def attendees(webinar_id: int):
    """htmx: the attendee region for a search (?q= name or email) and a page (?page=)."""
    webinar = service.console_or_404(current_user, webinar_id)
    view = fragments.AttendeeView.from_args(request.args.get("q"), request.args.get("page"))
    if not is_htmx():
        return redirect(url_for("console.page", webinar_id=webinar_id, q=view.q or None,
                                page=view.page if view.page > 1 else None), code=303)
    response = make_response(fragments.region("attendees", webinar, view=view))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/console/<int:webinar_id>/messages/<int:message_id>/<any(hide, unhide):verb>")
@login_required
def moderate_message(webinar_id: int, message_id: int, verb: str):
    webinar = service.console_or_404(current_user, webinar_id)
    if verb == "hide":
        message = moderation.hide_message(webinar, message_id, actor=current_user)
    else:
        message = moderation.unhide_message(webinar, message_id, actor=current_user)
    return _after(webinar, fragments.messages(webinar_id, [message]))


@bp.post("/console/<int:webinar_id>/leads/<int:lead_id>/<any(mute, unmute, ban, unban):verb>")
@login_required
def moderate_lead(webinar_id: int, lead_id: int, verb: str):
    webinar = service.console_or_404(current_user, webinar_id)
    if verb == "ban":
        moderation.ban(webinar, lead_id, actor=current_user)
    elif verb == "unban":
        moderation.unban(webinar, lead_id, actor=current_user)
    else:
        moderation.set_muted(webinar, lead_id, muted=verb == "mute", actor=current_user)
    return _region(webinar, "attendees")


@bp.post("/console/<int:webinar_id>/chat")
@login_required
def chat_post(webinar_id: int):
    webinar = service.console_or_404(current_user, webinar_id)
    message = service.post_message(current_user, webinar, request.form.get("body"),
                                   cohort=request.form.get("cohort") or None)
    return _after(webinar, fragments.messages(webinar_id, [message]))


def _region(webinar, name: str):
    """htmx: the changed region (oob); a plain form post: back to the console."""
    return _after(webinar, fragments.region(name, webinar, oob=True))


def _after(webinar, html: str):
    if is_htmx():
        return html
    return redirect(url_for("console.page", webinar_id=webinar.webinar_id), code=303)
