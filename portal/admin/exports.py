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

from portal.admin import reports
from portal.admin.reports import RegistrationRow
from portal.core.models import Webinar

BOM = "\ufeff"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def escape_cell(value: str) -> str:
    """A cell a spreadsheet shows as text, never evaluates."""
    return "'" + value if value.startswith(FORMULA_START) else value


def format_duration(seconds: int) -> str:
    hours, rest = divmod(int(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


def _utc(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else ""


def _yes(value: bool) -> str:
    return str(_l("yes")) if value else str(_l("no"))


@dataclass(frozen=True)
class Column:
    key: str
    label: object
    value: Callable[[RegistrationRow], str]
    utc: bool = False  # a time: the page shows it in the viewer's zone, the CSV in UTC


# The registrations table, column by column; the page header and the CSV use this one list.
COLUMNS: tuple[Column, ...] = (
    Column("name", _l("Name"), lambda r: r.name),
    Column("email", _l("Email"), lambda r: r.email),
    Column("registered_at", _l("Registered"), lambda r: _utc(r.registered_at), utc=True),
    Column("source", _l("Source"), lambda r: r.source),
    Column("slot", _l("Start"), lambda r: _utc(r.slot_at), utc=True),
    Column("attended", _l("Attended"), lambda r: _yes(r.attended)),
    Column("watch_time", _l("Watch time"), lambda r: format_duration(r.watch_seconds)),
    Column("completed", _l("Completed"), lambda r: _yes(r.completed)),
    Column("cta_clicked", _l("CTA clicked"), lambda r: _yes(r.cta_clicked)),
)


def header() -> list[str]:
    return [f"{c.label} (UTC)" if c.utc else str(c.label) for c in COLUMNS]


def cells(row: RegistrationRow) -> list[str]:
    return [escape_cell(c.value(row)) for c in COLUMNS]


def registrations_csv(webinar: Webinar, *, q: str, now: datetime) -> Iterator[str]:
    """The CSV text in pieces of one chunk each (a few hundred KB at most in memory)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([escape_cell(h) for h in header()])
    yield BOM + buffer.getvalue()
    for chunk in reports.all_registration_rows(webinar, q=q, now=now):
        buffer.seek(0)
        buffer.truncate()
        writer.writerows(cells(row) for row in chunk)
        yield buffer.getvalue()


def filename(webinar: Webinar, *, now: datetime) -> str:
    return f"registrations-{webinar.slug}-{now.strftime('%Y%m%d-%H%M')}.csv"
