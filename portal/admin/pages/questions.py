"""/admin/webinars/<id>/questions: the webinar's Q&A report and its CSV."""
from __future__ import annotations

from flask import Response, render_template, stream_with_context

from portal.admin import qa_export
from portal.admin.access import webinar_for
from portal.admin.pages.common import actor
from portal.core.permissions import Action
from portal.db_types import utcnow
from portal.qa import reports


def page(webinar_id: int):
    webinar = webinar_for(webinar_id, Action.VIEW_REPORTS, actor=actor())
    first = next(reports.rows(webinar.webinar_id, limit=qa_export.PAGE_ROWS), [])
    return render_template("admin/questions/page.html", webinar=webinar, counts=reports.counts(webinar.webinar_id),
                           rows=first, more=len(first) >= qa_export.PAGE_ROWS, section="webinars", tab="questions")


def export_csv(webinar_id: int):
    webinar = webinar_for(webinar_id, Action.VIEW_REPORTS, actor=actor())
    now = utcnow()
    response = Response(stream_with_context(qa_export.questions_csv(webinar)), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{qa_export.filename(webinar, now=now)}"'
    response.headers["Cache-Control"] = "no-store"
    return response
