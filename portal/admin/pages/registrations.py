"""/admin/webinars/<id>/registrations: the table, revoke/restore, re-issue a link, CSV export."""
from __future__ import annotations

from flask import Response, make_response, render_template, request, stream_with_context, url_for

from portal.admin import approvals, exports, registrations, reports, runfilter, search
from portal.admin.access import webinar_for
from portal.admin.forms import ActionForm
from portal.admin.pages.common import actor, back
from portal.admin.pagination import page_number
from portal.core.permissions import Action
from portal.db_types import utcnow
from portal.errors import Invalid
from portal.extensions import db
from portal.htmx import is_htmx, page_or_fragment
from portal.registration import display


def page(webinar_id: int):
    webinar = webinar_for(webinar_id, Action.VIEW_REPORTS, actor=actor())
    q = search.normalise(request.args.get("q"))
    return _table(webinar, q=q, number=page_number(request.args.get("page")),
                  run=runfilter.chosen(webinar, request.args.get("run")))


def _table(webinar, *, q: str, number: int = 1, status: int = 200, run=None, **extra):  # noqa: ANN001, ANN202
    rows = reports.registration_page(webinar, q=q, number=number, now=utcnow(), run=run)
    return page_or_fragment("admin/registrations/page.html", "admin/registrations/_table.html", "registrations",
                            status=status, webinar=webinar, page=rows, q=q, columns=exports.PAGE_COLUMNS,
                            action_form=ActionForm(), runs=runfilter.choices(webinar), run=run,
                            section="webinars", tab="registrations", **extra)


def decide(webinar_id: int):
    """Approve or decline the ticked pending registrations, then show the table again."""
    webinar = webinar_for(webinar_id, Action.EDIT, actor=actor())
    q = search.normalise(request.form.get("q"))
    ids = [int(v) for v in request.form.getlist("registration_id") if v.isdigit()]
    try:
        changed = approvals.decide(webinar, ids, request.form.get("decision", ""), actor=actor())
    except Invalid as error:
        db.session.rollback()
        return _table(webinar, q=q, status=422, decide_error=error.translated())
    if not is_htmx():
        return back(url_for("admin.registrations", webinar_id=webinar_id))
    return _table(webinar, q=q, decided=changed)


def _row_action(webinar_id: int, registration_id: int, change) -> Response:  # noqa: ANN001
    webinar = webinar_for(webinar_id, Action.EDIT, actor=actor())
    reg = registrations.get(webinar, registration_id)
    change(reg, actor=actor())
    if not is_htmx():
        return back(url_for("admin.registrations", webinar_id=webinar_id))
    row = reports.registration_row(webinar, registration_id, now=utcnow())
    return render_template("admin/registrations/_row.html", webinar=webinar, row=row, columns=exports.PAGE_COLUMNS,
                           action_form=ActionForm())


def revoke(webinar_id: int, registration_id: int):
    return _row_action(webinar_id, registration_id, registrations.revoke)


def restore(webinar_id: int, registration_id: int):
    return _row_action(webinar_id, registration_id, registrations.restore)


def reissue(webinar_id: int, registration_id: int):
    """Rotate the join link; the answer shows the new one once (never stored in the clear)."""
    webinar = webinar_for(webinar_id, Action.EDIT, actor=actor())
    reg = registrations.get(webinar, registration_id)
    new_link = display.join_url(registrations.reissue(reg, actor=actor()))
    row = reports.registration_row(webinar, registration_id, now=utcnow())
    template = "admin/registrations/_row.html" if is_htmx() else "admin/registrations/reissued.html"
    response = make_response(render_template(template, webinar=webinar, row=row, columns=exports.PAGE_COLUMNS,
                                             action_form=ActionForm(), new_link=new_link, section="webinars",
                                             tab="registrations"))
    response.headers["Cache-Control"] = "no-store"
    return response


def resend(webinar_id: int, registration_id: int):
    """Rotate the join link and mail the new one to the registrant (the organizer never sees it)."""
    webinar = webinar_for(webinar_id, Action.EDIT, actor=actor())
    reg = registrations.get(webinar, registration_id)
    registrations.reissue(reg, actor=actor(), email=True)
    if not is_htmx():
        return back(url_for("admin.registrations", webinar_id=webinar_id))
    row = reports.registration_row(webinar, registration_id, now=utcnow())
    return render_template("admin/registrations/_row.html", webinar=webinar, row=row, columns=exports.PAGE_COLUMNS,
                           action_form=ActionForm(), link_mailed=True)


def export_csv(webinar_id: int):
    webinar = webinar_for(webinar_id, Action.VIEW_REPORTS, actor=actor())
    q = search.normalise(request.args.get("q"))
    run = runfilter.chosen(webinar, request.args.get("run"))
    now = utcnow()
    body = stream_with_context(exports.registrations_csv(webinar, q=q, now=now, run=run))
    response = Response(body, mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{exports.filename(webinar, now=now, run=run)}"'
    response.headers["Cache-Control"] = "no-store"
    return response
