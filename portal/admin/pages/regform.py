"""/admin/webinars/<id>/registration-form: seats, approval, completion share, questions."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from portal.admin import regform
from portal.admin.access import webinar_for
from portal.admin.forms import ActionForm, QuestionForm, RegistrationSettingsForm
from portal.admin.pages.common import actor
from portal.core.permissions import Action
from portal.errors import Conflict, Invalid
from portal.extensions import db
from portal.htmx import redirect_to
from portal.registration import questions


def _render(webinar, settings: RegistrationSettingsForm, question: QuestionForm, *,  # noqa: ANN001
            status: int = 200, error: str | None = None):
    return render_template("admin/regform/page.html", webinar=webinar, form=settings, question_form=question,
                           questions=questions.of(webinar), action_form=ActionForm(), error=error,
                           section="webinars", tab="regform"), status


def _fail(form, error: Invalid) -> None:  # noqa: ANN001 - a FlaskForm
    db.session.rollback()
    for name, messages in error.details.get("fields", {}).items():
        field = getattr(form, name, None) or next(iter(form))
        field.errors = [*field.errors, *(_(m) for m in (messages if isinstance(messages, list) else [messages]))]


def page(webinar_id: int):
    webinar = webinar_for(webinar_id, Action.EDIT, actor=actor())
    form = RegistrationSettingsForm(obj=webinar if request.method == "GET" else None)
    if not form.validate_on_submit():
        return _render(webinar, form, QuestionForm(formdata=None), status=422 if form.errors else 200)
    try:
        regform.save(webinar, regform.Settings(form.capacity.data, bool(form.requires_approval.data),
                                               form.completion_percent.data), actor=actor())
    except Invalid as error:
        _fail(form, error)
        return _render(webinar, form, QuestionForm(formdata=None), status=422)
    except Conflict as error:
        db.session.rollback()
        return _render(webinar, form, QuestionForm(formdata=None), status=409, error=error.translated())
    flash(_("Registration settings saved."), "success")
    return redirect(url_for("admin.regform", webinar_id=webinar_id), code=303)


def add_question(webinar_id: int):
    webinar = webinar_for(webinar_id, Action.EDIT, actor=actor())
    form = QuestionForm()
    settings = RegistrationSettingsForm(formdata=None, obj=webinar)
    if not form.validate_on_submit():
        return _render(webinar, settings, form, status=422)
    data = questions.QuestionInput(label=form.label.data or "", kind=form.kind.data or "",
                                   options=form.options.data or "", required=bool(form.required.data))
    try:
        regform.add_question(webinar, data, actor=actor())
    except Invalid as error:
        _fail(form, error)
        return _render(webinar, settings, form, status=422, error=None if error.details.get("fields")
                       else error.translated())
    except Conflict as error:
        db.session.rollback()
        return _render(webinar, settings, form, status=409, error=error.translated())
    flash(_("Question added to the registration form."), "success")
    return redirect(url_for("admin.regform", webinar_id=webinar_id), code=303)


def remove_question(webinar_id: int, question_id: int):
    webinar = webinar_for(webinar_id, Action.EDIT, actor=actor())
    try:
        regform.remove_question(webinar, question_id, actor=actor())
    except Conflict as error:
        db.session.rollback()
        return _render(webinar, RegistrationSettingsForm(formdata=None, obj=webinar), QuestionForm(formdata=None),
                       status=409, error=error.translated())
    flash(_("Question removed."), "success")
    return redirect_to(url_for("admin.regform", webinar_id=webinar_id))
