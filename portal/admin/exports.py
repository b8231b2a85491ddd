"""CSV export of the registrations table: the same columns as the page, streamed in chunks.

UTF-8 with a BOM so Excel detects the encoding (Cyrillic names stay readable); any cell that
a spreadsheet could read as a formula (= + - @, or a leading tab / carriage return) is
prefixed with an apostrophe (OWASP "CSV injection").
"""
from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l

from portal import timefmt
from portal.admin import reports
from portal.admin.reports import RegistrationRow
from portal.admin.runfilter import Run
from portal.core.models import Webinar

BOM = "\ufeff"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def escape_cell(value: str) -> str:
    """A cell a spreadsheet shows as text, never evaluates."""
    return "'" + value if value.startswith(FORMULA_START) else value


def _utc(value: datetime | None) -> str:
    return timefmt.wall_time(value, seconds=True)


@dataclass(frozen=True)
class Words:
    """Translated once per export: gettext per cell would dominate a 50,000-row file."""

    yes: str
    no: str

    @classmethod
    def current(cls) -> Words:
        return cls(yes=str(_l("yes")), no=str(_l("no")))

    def __call__(self, value: bool) -> str:
        return self.yes if value else self.no


@dataclass(frozen=True)
class Column:
    key: str
    label: object
    value: Callable[[RegistrationRow, Words], str]
    utc: bool = False  # a time: the page shows it in the viewer's zone, the CSV in UTC
    typed: bool = False  # text someone typed (name, email, source): escaped against formulas


# The registrations table, column by column; the page header and the CSV use this one list.
COLUMNS: tuple[Column, ...] = (
    Column("name", _l("Name"), lambda r, w: r.name, typed=True),
    Column("email", _l("Email"), lambda r, w: r.email, typed=True),
    Column("registered_at", _l("Registered"), lambda r, w: _utc(r.registered_at), utc=True),
    Column("source", _l("Source"), lambda r, w: r.source, typed=True),
    Column("slot", _l("Start"), lambda r, w: _utc(r.slot_at), utc=True),
    Column("attended", _l("Attended"), lambda r, w: w(r.attended)),
    Column("watch_time", _l("Watch time"), lambda r, w: timefmt.clock(r.watch_seconds or 0, hours=True)),
    Column("completed", _l("Completed"), lambda r, w: w(r.completed)),
    Column("cta_clicked", _l("CTA clicked"), lambda r, w: w(r.cta_clicked)),
)


def header() -> list[str]:
    return [f"{c.label} (UTC)" if c.utc else str(c.label) for c in COLUMNS]


def cells(row: RegistrationRow, words: Words) -> list[str]:
    """The CSV cells of one row; computed cells (times, yes/no, durations) never start with
    a formula character, so only typed text needs the escape."""
    return [escape_cell(c.value(row, words)) if c.typed else c.value(row, words) for c in COLUMNS]


def registrations_csv(webinar: Webinar, *, q: str, now: datetime, run: Run | None = None) -> Iterator[str]:
    """The CSV text (of one run's registrants, or all) in pieces of one chunk each (a few
    hundred KB at most in memory)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    words = Words.current()
    writer.writerow([escape_cell(h) for h in header()])
    yield BOM + buffer.getvalue()
    for chunk in reports.all_registration_rows(webinar, q=q, now=now, run=run):
        buffer.seek(0)
        buffer.truncate()
        writer.writerows(cells(row, words) for row in chunk)
        yield buffer.getvalue()


def filename(webinar: Webinar, *, now: datetime, run: Run | None = None) -> str:
    of_run = f"-run-{run.starts_at.strftime('%Y%m%d-%H%M')}" if run is not None else ""
    return f"registrations-{webinar.slug}{of_run}-{now.strftime('%Y%m%d-%H%M')}.csv"
