"""/admin/webinars/<id>/speakers: assign and remove speakers."""
from __future__ import annotations

from flask import redirect, url_for

from portal.admin import speakers
from portal.admin.access import webinar_for
from portal.admin.forms import ActionForm, SpeakerForm, options
from portal.admin.pages.common import actor
from portal.core.models import Webinar
from portal.core.permissions import Action
from portal.errors import Conflict, Invalid
from portal.extensions import db
from portal.htmx import is_htmx, page_or_fragment


def _form(webinar: Webinar) -> SpeakerForm:
    form = SpeakerForm()
    form.user_id.choices = options((u.user_id, f"{u.display_name} <{u.email}>") for u in speakers.candidates(webinar))
    return form


def _render(webinar: Webinar, form: SpeakerForm, *, status: int = 200, error: str | None = None):
    return page_or_fragment("admin/speakers/page.html", "admin/speakers/_speakers.html", "speakers",
                            status=status, webinar=webinar, form=form, action_form=ActionForm(), error=error,
                            section="webinars", tab="speakers")


def page(webinar_id: int):
    webinar = webinar_for(webinar_id, Action.ASSIGN_SPEAKERS, actor=actor())
    return _render(webinar, _form(webinar))


def add(webinar_id: int):
    webinar = webinar_for(webinar_id, Action.ASSIGN_SPEAKERS, actor=actor())
    form = _form(webinar)
    if not form.validate_on_submit():
        return _render(webinar, form, status=422)
    try:
        speakers.assign(webinar, form.user_id.data, actor=actor())
    except (Invalid, Conflict) as error:
        db.session.rollback()
        return _render(webinar, _form(webinar), status=error.status_code, error=error.translated())
    if not is_htmx():
        return redirect(url_for("admin.speakers", webinar_id=webinar_id), code=303)
    return _render(webinar, _form(webinar))


def remove(webinar_id: int, user_id: int):
    webinar = webinar_for(webinar_id, Action.ASSIGN_SPEAKERS, actor=actor())
    speakers.remove(webinar, user_id, actor=actor())
    if not is_htmx():
        return redirect(url_for("admin.speakers", webinar_id=webinar_id), code=303)
    return _render(webinar, _form(webinar))
