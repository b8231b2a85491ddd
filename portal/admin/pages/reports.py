"""/admin/webinars/<id>/attendance and /analytics."""
from __future__ import annotations

from flask import Response, render_template, request, stream_with_context

from portal.admin import analytics, charts, exports, reports, runfilter, visit_exports
from portal.admin.access import webinar_for
from portal.admin.pages.common import actor
from portal.admin.pagination import page_number
from portal.core.models import WebinarType
from portal.core.permissions import Action
from portal.db_types import utcnow
from portal.htmx import targets
from portal.qa import reports as qa_reports


def attendance(webinar_id: int):
    webinar = webinar_for(webinar_id, Action.VIEW_REPORTS, actor=actor())
    now = utcnow()
    run = runfilter.chosen(webinar, request.args.get("run"))  # one run of several start times, or all
    attendees = reports.attendee_page(webinar, number=page_number(request.args.get("page")), now=now, run=run)
    if targets("attendees"):  # paging through attendees needs no chart
        return render_template("admin/attendance/_attendees.html", webinar=webinar, attendees=attendees, run=run)
    overview = reports.attendance_overview(webinar, now=now, run=run)
    progress = reports.progress_distribution(webinar) if webinar.type == WebinarType.auto.value else None
    return render_template("admin/attendance/page.html", webinar=webinar, attendees=attendees, overview=overview,
                           chart=charts.timeline(overview.points), reasons=reports.leave_reasons(webinar, run=run),
                           progress=progress, qa_counts=qa_reports.counts(webinar.webinar_id),
                           runs=runfilter.choices(webinar), run=run,
                           section="webinars", tab="attendance")


def analytics_page(webinar_id: int):
    webinar = webinar_for(webinar_id, Action.VIEW_REPORTS, actor=actor())
    funnel, sources = analytics.summary(webinar)
    return render_template("admin/analytics/page.html", webinar=webinar, funnel=funnel, sources=sources,
                           section="webinars", tab="analytics")


def _csv(body, name: str) -> Response:  # noqa: ANN001 - an iterator of str
    response = Response(stream_with_context(body), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"
    return response


def attendance_csv(webinar_id: int):
    """One row per visit (issue 12)."""
    webinar = webinar_for(webinar_id, Action.VIEW_REPORTS, actor=actor())
    now = utcnow()
    return _csv(visit_exports.attendance_csv(webinar, now=now), exports.filename(webinar, now=now, what="attendance"))


def chat_csv(webinar_id: int):
    """The webinar's chat, every message (hidden ones marked)."""
    webinar = webinar_for(webinar_id, Action.VIEW_REPORTS, actor=actor())
    return _csv(visit_exports.chat_csv(webinar), exports.filename(webinar, now=utcnow(), what="chat"))
