"""/admin/webinars/<id>/recording: upload or link the recording (portal.media reads its
duration), its WebVTT captions per language, and who may watch a live webinar's replay."""
from __future__ import annotations

from flask import redirect, render_template, request, url_for

from portal.admin.access import webinar_for
from portal.admin.forms import ActionForm
from portal.admin.pages.common import actor
from portal.core.permissions import Action
from portal.errors import Invalid, PortalError, refusal_shown
from portal.extensions import db
from portal.media import captions, recordings, storage

#: Multipart overhead allowed above the file's own limit (the service refuses the file itself).
FORM_OVERHEAD = 1024 * 1024


def upload_limit() -> int:
    """The request size the upload route accepts (admin's url_value_preprocessor sets it)."""
    return storage.max_bytes() + FORM_OVERHEAD


def _render(webinar_id: int, *, status: int = 200, error: str | None = None, link: str = "", lang: str = ""):
    webinar = webinar_for(webinar_id, Action.EDIT, actor=actor())
    recording = recordings.current(webinar)
    return render_template("media/recording.html", webinar=webinar, recording=recording,
                           tracks=captions.tracks(recording), form=ActionForm(), error=error, link=link, lang=lang,
                           max_mb=storage.max_bytes() // (1024 * 1024), section="webinars", tab="recording"), status


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


def add_captions(webinar_id: int):
    webinar = webinar_for(webinar_id, Action.EDIT, actor=actor())
    file, lang = request.files.get("captions"), request.form.get("lang", "")
    try:
        if file is None or not file.filename:
            raise Invalid("Choose a WebVTT (.vtt) file.")
        captions.attach(webinar, recordings.current(webinar), lang, file.stream.read(captions.MAX_BYTES + 1),
                        actor=actor())
    except PortalError as error:
        return _refused(webinar_id, error, lang=lang)
    return redirect(url_for("admin.recording", webinar_id=webinar_id), code=303)


def remove_captions(webinar_id: int, lang: str):
    webinar = webinar_for(webinar_id, Action.EDIT, actor=actor())
    try:
        captions.remove(webinar, recordings.current(webinar), lang, actor=actor())
    except PortalError as error:
        return _refused(webinar_id, error)
    return redirect(url_for("admin.recording", webinar_id=webinar_id), code=303)


def _refused(webinar_id: int, error: PortalError, *, link: str = "", lang: str = ""):
    db.session.rollback()
    refusal_shown(error)
    return _render(webinar_id, status=error.status_code, error=error.translated(), link=link, lang=lang)
