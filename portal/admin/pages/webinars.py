"""/admin/webinars: list, create, overview, edit and the Core status buttons."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from portal.admin import copies, listing, webinars
from portal.admin.access import webinar_for
from portal.admin.forms import ActionForm, WebinarForm
from portal.admin.pages.common import actor
from portal.admin.pagination import page_number
from portal.core import lifecycle
from portal.core.models import Role, User, Webinar
from portal.core.permissions import Action
from portal.db_types import utcnow
from portal.errors import Conflict, Invalid
from portal.extensions import db
from portal.htmx import is_htmx, page_or_fragment, redirect_to
from portal.qa import questions as qa_questions


def index():
    filters = listing.Filters.parse(request.args)
    page = listing.webinar_page(actor(), filters, number=page_number(request.args.get("page")))
    return page_or_fragment("admin/webinars/list.html", "admin/webinars/_table.html", "webinar-table",
                            page=page, filters=filters, section="webinars")


def _owners() -> list[tuple[int, str]] | None:
    """Owner choices for admins (active organizers and admins); None hides the field."""
    if actor().role != Role.admin.value:
        return None
    users = db.session.scalars(
        select(User).where(User.role.in_((Role.organizer.value, Role.admin.value)), User.is_disabled.is_(False))
        .order_by(User.display_name)
    )
    return [(u.user_id, f"{u.display_name} <{u.email}>") for u in users]


def new():
    form = WebinarForm(owners=_owners())
    if request.method == "GET" and form.owner_user_id is not None:
        form.owner_user_id.data = actor().user_id
    if form.validate_on_submit():
        try:
            webinar = webinars.create(form.to_input(), actor=actor())
        except Invalid as error:
            form.add_errors(error.details.get("fields", {}))
        else:
            flash(_("Webinar created as a draft. Publish it when it is ready."), "success")
            return redirect(url_for("admin.webinar", webinar_id=webinar.webinar_id), code=303)
    status = 422 if form.errors else 200
    return render_template("admin/webinars/form.html", form=form, webinar=None, section="webinars"), status


def show(webinar_id: int):
    webinar = webinar_for(webinar_id, Action.EDIT, actor=actor())
    return _show(webinar)


def _show(webinar: Webinar, *, error: str | None = None, status: int = 200):
    counts = listing.registration_counts([webinar.webinar_id])
    context = dict(webinar=webinar, error=error, registrations=counts.get(webinar.webinar_id, 0),
                   operations=webinars.available_operations(webinar),
                   blockers=lifecycle.publish_blockers(webinar, now=utcnow()), action_form=ActionForm(),
                   section="webinars", tab="overview")
    return page_or_fragment("admin/webinars/show.html", "admin/webinars/_status.html", "status-panel",
                            status=status, **context)


def edit(webinar_id: int):
    webinar = webinar_for(webinar_id, Action.EDIT, actor=actor())
    form = WebinarForm(owners=_owners())
    if request.method == "GET":
        form.load(webinar)
    form_error = None
    if form.validate_on_submit():
        try:
            webinars.update(webinar, form.to_input(), actor=actor())
        except Invalid as error:
            db.session.rollback()
            form.add_errors(error.details.get("fields", {}))
        except Conflict as error:
            db.session.rollback()
            form_error = error.translated()
        else:
            flash(_("Changes saved."), "success")
            return redirect(url_for("admin.webinar", webinar_id=webinar.webinar_id), code=303)
    status = 409 if form_error else 422 if form.errors else 200
    return render_template("admin/webinars/form.html", form=form, webinar=webinar, form_error=form_error,
                           qa_moderated=qa_questions.is_moderated(webinar), section="webinars", tab="edit"), status


def change_status(webinar_id: int):
    operation = request.form.get("operation", "")
    action = lifecycle.PERMISSION.get(operation, Action.PUBLISH)
    webinar = webinar_for(webinar_id, action, actor=actor())
    try:
        outcome = webinars.change_status(webinar, operation, actor=actor())
    except (Conflict, Invalid) as error:
        db.session.rollback()
        db.session.refresh(webinar)
        return _show(webinar, error=error.translated(), status=error.status_code)
    if not is_htmx():
        if outcome.changed:
            flash(_("Status changed: %(before)s → %(after)s.", before=_(outcome.before), after=_(outcome.after)),
                  "success")
        return redirect(url_for("admin.webinar", webinar_id=webinar.webinar_id), code=303)
    return _show(webinar)


def delete(webinar_id: int):
    """Delete a draft (confirmed in the browser); anything else is refused in the status panel."""
    webinar = webinar_for(webinar_id, Action.EDIT, actor=actor())
    try:
        copies.delete_draft(webinar, actor=actor())
    except Conflict as error:
        db.session.rollback()
        return _show(webinar, error=error.translated(), status=error.status_code)
    flash(_("The draft was deleted."), "success")
    return redirect_to(url_for("admin.webinars"))


def duplicate(webinar_id: int):
    """Copy the webinar into a new draft and open the copy's form."""
    webinar = webinar_for(webinar_id, Action.EDIT, actor=actor())
    copy = copies.duplicate(webinar, actor=actor())
    flash(_("This is a copy of “%(title)s”, saved as a draft. Check its times and publish it when ready.",
            title=webinar.title), "success")
    return redirect_to(url_for("admin.webinar_edit", webinar_id=copy.webinar_id))
