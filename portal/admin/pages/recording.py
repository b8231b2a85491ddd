"""/admin/webinars/<id>/recording: upload or link the recording (portal.media reads its
duration), and who may watch a live webinar's replay."""
from __future__ import annotations

from flask import redirect, render_template, request, url_for

from portal.admin.access import webinar_for
from portal.admin.forms import ActionForm
from portal.admin.pages.common import actor
from portal.core.permissions import Action
from portal.errors import Invalid, PortalError, refusal_shown
from portal.extensions import db
from portal.media import recordings, storage

#: Multipart overhead allowed above the file's own limit (the service refuses the file itself).
FORM_OVERHEAD = 1024 * 1024


def upload_limit() -> int:
    """The request size the upload route accepts (admin's url_value_preprocessor sets it)."""
    return storage.max_bytes() + FORM_OVERHEAD


def _render(webinar_id: int, *, status: int = 200, error: str | None = None, link: str = ""):
    webinar = webinar_for(webinar_id, Action.EDIT, actor=actor())
    return render_template("media/recording.html", webinar=webinar, recording=recordings.current(webinar),
                           form=ActionForm(), error=error, link=link, max_mb=storage.max_bytes() // (1024 * 1024),
                           section="webinars", tab="recording"), status


def page(webinar_id: int):
    return _render(webinar_id)


def upload(webinar_id: int):
    webinar = webinar_for(webinar_id, Action.EDIT, actor=actor())
    file = request.files.get("recording")
    try:
        if file is None or not file.filename:
            raise Invalid("Choose a video file to upload.")
        recordings.attach_upload(webinar, file.stream, filename=file.filename, actor=actor())
    except PortalError as error:
        return _refused(webinar_id, error)
    return redirect(url_for("admin.recording", webinar_id=webinar_id), code=303)


def link(webinar_id: int):
    webinar = webinar_for(webinar_id, Action.EDIT, actor=actor())
    url = request.form.get("recording_url", "")
    try:
        recordings.attach_link(webinar, url, actor=actor())
    except PortalError as error:
        return _refused(webinar_id, error, link=url)
    return redirect(url_for("admin.recording", webinar_id=webinar_id), code=303)


def replay(webinar_id: int):
    webinar = webinar_for(webinar_id, Action.EDIT, actor=actor())
    try:
        recordings.set_public_replay(webinar, request.form.get("public_replay") == "y", actor=actor())
    except PortalError as error:
        return _refused(webinar_id, error)
    return redirect(url_for("admin.recording", webinar_id=webinar_id), code=303)


def _refused(webinar_id: int, error: PortalError, *, link: str = ""):
    db.session.rollback()
    refusal_shown(error)
    return _render(webinar_id, status=error.status_code, error=error.translated(), link=link)
