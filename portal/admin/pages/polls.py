"""/admin/webinars/<id>/polls: results and answers of a webinar's polls, and their CSV."""
from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from flask import Response, render_template, stream_with_context
from flask_babel import gettext

from portal import timefmt
from portal.admin.access import webinar_for
from portal.admin.exports import BOM, escape_cell
from portal.admin.pages.common import actor
from portal.core.models import Webinar
from portal.core.permissions import Action
from portal.polls import report


def page(webinar_id: int):
    webinar = webinar_for(webinar_id, Action.VIEW_REPORTS, actor=actor())
    return render_template("polls/report.html", webinar=webinar, reports=report.summary(webinar),
                           cohort_start=report.cohort_start, section="webinars", tab="polls")


def export_csv(webinar_id: int):
    webinar = webinar_for(webinar_id, Action.VIEW_REPORTS, actor=actor())
    response = Response(stream_with_context(_csv(webinar)), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="polls-{webinar.webinar_id}.csv"'
    response.headers["Cache-Control"] = "no-store"
    return response


def _csv(webinar: Webinar) -> Iterator[str]:
    """Every answer: poll, question, cohort, name, email, chosen options, time (UTC)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([gettext("Poll"), gettext("Question"), gettext("Cohort"), gettext("Name"), gettext("Email"),
                     gettext("Answer"), gettext("Answered") + " (UTC)"])
    yield BOM + _drain(out)
    for i, a in enumerate(report.answers(webinar), 1):
        writer.writerow([a.poll_id, escape_cell(a.question), escape_cell(a.cohort), escape_cell(a.name),
                         escape_cell(a.email), escape_cell(a.options), timefmt.wall_time(a.answered_at, seconds=True)])
        if i % 500 == 0:
            yield _drain(out)
    yield _drain(out)


def _drain(out: io.StringIO) -> str:
    text = out.getvalue()
    out.seek(0)
    out.truncate()
    return text
