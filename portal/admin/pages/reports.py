"""/admin/webinars/<id>/attendance and /analytics."""
from __future__ import annotations

from flask import render_template, request

from portal.admin import analytics, charts, reports, runfilter
from portal.admin.access import webinar_for
from portal.admin.pages.common import actor
from portal.admin.pagination import page_number
from portal.core.models import WebinarType
from portal.core.permissions import Action
from portal.db_types import utcnow
from portal.htmx import targets


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
                           progress=progress, runs=runfilter.choices(webinar), run=run,
                           section="webinars", tab="attendance")


def analytics_page(webinar_id: int):
    webinar = webinar_for(webinar_id, Action.VIEW_REPORTS, actor=actor())
    funnel, sources = analytics.summary(webinar)
    return render_template("admin/analytics/page.html", webinar=webinar, funnel=funnel, sources=sources,
                           section="webinars", tab="analytics")
