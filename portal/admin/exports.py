"""CSV exports: the registrations table (the page's columns plus visit times, the CTA click
time and the registration questions' answers), streamed in chunks.

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
from portal.registration import questions
from portal.registration.models import RegistrationQuestion

BOM = "\ufeff"
CHUNK_ROWS = 1000  # rows per query and per piece of a streamed CSV
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
    page: bool = True  # False: in the CSV only (the table stays readable on a laptop)


STATES = {"confirmed": _l("registered"), "pending": _l("awaiting approval"), "declined": _l("declined"),
          "waitlisted": _l("on the waiting list"), "cancelled": _l("cancelled")}


def state_label(row: RegistrationRow) -> str:
    """The state's words (the CSV's Status cell and the page's badge)."""
    return str(STATES.get(state_of(row), state_of(row)))


def state_of(row: RegistrationRow) -> str:
    """The registration's standing: a cancelled seat first, else its state."""
    return "cancelled" if row.cancelled_at is not None else row.state


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
    # The page shows the state as a badge in its Access column (no room for one more column).
    Column("state", _l("Status"), lambda r, w: state_label(r), page=False),
    Column("first_join", _l("First join"), lambda r, w: _utc(r.first_join), utc=True, page=False),
    Column("last_leave", _l("Last leave"), lambda r, w: _utc(r.last_leave), utc=True, page=False),
    Column("cta_clicked_at", _l("CTA clicked at"), lambda r, w: _utc(r.cta_clicked_at), utc=True, page=False),
)
PAGE_COLUMNS = tuple(c for c in COLUMNS if c.page)


def _answer(question: RegistrationQuestion) -> Callable[[RegistrationRow, Words], str]:
    key = str(question.question_id)
    return lambda r, w: str((r.answers or {}).get(key, ""))


def columns_for(webinar: Webinar) -> tuple[Column, ...]:
    """The CSV's columns: COLUMNS, then one per registration question (its label)."""
    return COLUMNS + tuple(Column(f"q{q.question_id}", q.label, _answer(q), typed=True, page=False)
                           for q in questions.of(webinar))


def header(columns: tuple[Column, ...] = COLUMNS) -> list[str]:
    return [f"{c.label} (UTC)" if c.utc else str(c.label) for c in columns]


def cells(row: RegistrationRow, words: Words, columns: tuple[Column, ...] = COLUMNS) -> list[str]:
    """The CSV cells of one row; computed cells (times, yes/no, durations) never start with
    a formula character, so only typed text needs the escape."""
    return [escape_cell(c.value(row, words)) if c.typed else c.value(row, words) for c in columns]


def registrations_csv(webinar: Webinar, *, q: str, now: datetime, run: Run | None = None) -> Iterator[str]:
    """The CSV text (of one run's registrants, or all) in pieces of one chunk each (a few
    hundred KB at most in memory)."""
    words = Words.current()
    columns = columns_for(webinar)
    chunks = ([cells(row, words, columns) for row in chunk]
              for chunk in reports.all_registration_rows(webinar, q=q, now=now, run=run))
    return csv_text(header(columns), chunks)


def filename(webinar: Webinar, *, now: datetime, what: str = "registrations", run: Run | None = None) -> str:
    of_run = f"-run-{run.starts_at.strftime('%Y%m%d-%H%M')}" if run is not None else ""
    return f"{what}-{webinar.slug}{of_run}-{now.strftime('%Y%m%d-%H%M')}.csv"


def csv_text(header_cells: list[str], chunks: Iterator[list[list[str]]]) -> Iterator[str]:
    """Any CSV the organizer pages export: BOM, escaped header, rows streamed per chunk (the
    caller escapes typed cells with escape_cell)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([escape_cell(h) for h in header_cells])
    yield BOM + buffer.getvalue()
    for chunk in chunks:
        buffer.seek(0)
        buffer.truncate()
        writer.writerows(chunk)
        yield buffer.getvalue()
