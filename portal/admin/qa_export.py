"""CSV export of a webinar's questions (the registrations CSV's conventions: portal.admin.exports)."""
from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime

from flask_babel import lazy_gettext as _l

from portal import timefmt
from portal.admin.exports import BOM, escape_cell
from portal.core.models import Webinar
from portal.qa import reports
from portal.qa.reports import QuestionRow

PAGE_ROWS = 200  # questions the report page lists (the CSV has them all)
HEADER = (_l("Asked (UTC)"), _l("Name"), _l("Email"), _l("Question"), _l("Moderation"), _l("Answer state"),
          _l("Votes"), _l("Answered (UTC)"), _l("Written answer"))


def cells(row: QuestionRow) -> list[str]:
    """Typed text (name, email, question, answer) is escaped against formulas."""
    return [timefmt.wall_time(row.asked_at, seconds=True), escape_cell(row.name), escape_cell(row.email),
            escape_cell(row.body), row.status, row.answer_state, str(row.votes),
            timefmt.wall_time(row.answered_at, seconds=True), escape_cell(row.answer)]


def questions_csv(webinar: Webinar) -> Iterator[str]:
    """The CSV text in chunks (UTF-8 with a BOM, like the registrations CSV)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([str(h) for h in HEADER])
    yield BOM + buffer.getvalue()
    for chunk in reports.rows(webinar.webinar_id):
        buffer.seek(0)
        buffer.truncate()
        writer.writerows(cells(row) for row in chunk)
        yield buffer.getvalue()


def filename(webinar: Webinar, *, now: datetime) -> str:
    return f"questions-{webinar.slug}-{now.strftime('%Y%m%d-%H%M')}.csv"
