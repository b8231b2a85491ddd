"""Organizer pages under /admin/: the URL table. Handlers live in portal/admin/pages/*."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, make_response, request, url_for
from flask_login import current_user

from portal.admin.access import require_area
from portal.admin.charts import bar_percent
from portal.admin.exports import state_label
from portal.admin.pages import (
    audit,
    dashboard,
    mail,
    polls,
    questions,
    recording,
    regform,
    registrations,
    reports,
    speakers,
    tokens,
    users,
    webinars,
)
from portal.core.models import Webinar
from portal.core.permissions import Action, can
from portal.extensions import login_manager
from portal.htmx import is_htmx

bp = Blueprint("admin", __name__, url_prefix="/admin")

W = "/webinars/<int:webinar_id>"
ROUTES: tuple[tuple[str, str, Any, tuple[str, ...]], ...] = (
    ("/", "dashboard", dashboard.show, ("GET",)),
    ("/webinars", "webinars", webinars.index, ("GET",)),
    ("/webinars/new", "webinar_new", webinars.new, ("GET", "POST")),
    (W, "webinar", webinars.show, ("GET",)),
    (W + "/edit", "webinar_edit", webinars.edit, ("GET", "POST")),
    (W + "/status", "webinar_status", webinars.change_status, ("POST",)),
    (W + "/recording", "recording", recording.page, ("GET",)),
    (W + "/recording/upload", "recording_upload", recording.upload, ("POST",)),
    (W + "/recording/link", "recording_link", recording.link, ("POST",)),
    (W + "/recording/replay", "recording_replay", recording.replay, ("POST",)),
    (W + "/recording/captions", "recording_captions", recording.add_captions, ("POST",)),
    (W + "/recording/captions/<lang>/remove", "recording_captions_remove", recording.remove_captions, ("POST",)),
    (W + "/delete", "webinar_delete", webinars.delete, ("POST",)),
    (W + "/duplicate", "webinar_duplicate", webinars.duplicate, ("POST",)),
    (W + "/speakers", "speakers", speakers.page, ("GET",)),
    (W + "/speakers", "speaker_add", speakers.add, ("POST",)),
    (W + "/speakers/<int:user_id>/remove", "speaker_remove", speakers.remove, ("POST",)),
    (W + "/registration-form", "regform", regform.page, ("GET", "POST")),
    (W + "/registration-form/questions", "question_add", regform.add_question, ("POST",)),
    (W + "/registration-form/questions/<int:question_id>/remove", "question_remove", regform.remove_question,
     ("POST",)),
    (W + "/registrations", "registrations", registrations.page, ("GET",)),
    (W + "/registrations.csv", "registrations_csv", registrations.export_csv, ("GET",)),
    (W + "/registrations/decide", "registrations_decide", registrations.decide, ("POST",)),
    (W + "/registrations/<int:registration_id>/revoke", "registration_revoke", registrations.revoke, ("POST",)),
    (W + "/registrations/<int:registration_id>/restore", "registration_restore", registrations.restore, ("POST",)),
    (W + "/registrations/<int:registration_id>/reissue", "registration_reissue", registrations.reissue, ("POST",)),
    (W + "/registrations/<int:registration_id>/resend", "registration_resend", registrations.resend, ("POST",)),
    (W + "/mail", "webinar_mail", mail.page, ("GET",)),
    ("/mail", "mail", mail.page, ("GET",)),
    ("/mail/<int:message_id>", "mail_message", mail.show, ("GET",)),
    ("/mail/<int:message_id>/html", "mail_html", mail.html, ("GET",)),
    ("/mail/<int:message_id>/part/<int:index>", "mail_part", mail.part, ("GET",)),
    (W + "/attendance", "attendance", reports.attendance, ("GET",)),
    (W + "/attendance.csv", "attendance_csv", reports.attendance_csv, ("GET",)),
    (W + "/chat.csv", "chat_csv", reports.chat_csv, ("GET",)),
    (W + "/analytics", "analytics", reports.analytics_page, ("GET",)),
    (W + "/audit", "audit", audit.page, ("GET",)),
    (W + "/questions", "questions", questions.page, ("GET",)),
    (W + "/questions.csv", "questions_csv", questions.export_csv, ("GET",)),
    (W + "/polls", "polls", polls.page, ("GET",)),
    (W + "/polls.csv", "polls_csv", polls.export_csv, ("GET",)),
    ("/users", "users", users.index, ("GET",)),
    ("/users/new", "user_new", users.new, ("GET", "POST")),
    ("/users/<int:user_id>/role", "user_role", users.set_role, ("POST",)),
    ("/users/<int:user_id>/disable", "user_disable", users.disable, ("POST",)),
    ("/users/<int:user_id>/enable", "user_enable", users.enable, ("POST",)),
    ("/users/<int:user_id>/password", "user_password", users.reset_password, ("POST",)),
    ("/tokens", "tokens", tokens.index, ("GET",)),
    ("/tokens", "token_create", tokens.create, ("POST",)),
    ("/tokens/<int:token_id>/revoke", "token_revoke", tokens.revoke, ("POST",)),
)
for rule, endpoint, view, methods in ROUTES:
    bp.add_url_rule(rule, endpoint, view, methods=list(methods))


@bp.url_value_preprocessor
def _upload_limit(endpoint: str | None, values: dict[str, Any] | None) -> None:
    """Before CSRF reads the form: only the recording upload may exceed MAX_CONTENT_LENGTH."""
    if endpoint == "admin.recording_upload":
        request.max_content_length = recording.upload_limit()


@bp.before_request
def _staff_only():
    """Anonymous visitors go to the login page; staff without organizer rights get 403."""
    if not current_user.is_authenticated:
        if is_htmx():  # a whole-page redirect, not the login page swapped into a table
            response = make_response("", 401)
            response.headers["HX-Redirect"] = url_for(login_manager.login_view, next=request.full_path.rstrip("?"))
            return response
        return login_manager.unauthorized()
    require_area(current_user._get_current_object())
    return None


@bp.context_processor
def _helpers() -> dict[str, Any]:
    def may(action: str, webinar: Webinar | None = None) -> bool:
        return current_user.is_authenticated and can(current_user._get_current_object(), Action[action], webinar)

    return {"may": may, "bar_percent": bar_percent, "state_label": state_label}
