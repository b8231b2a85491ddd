"""Reports per run: a live webinar with several start times is reported one run at a time
(its registrants, its visits) or all together. The `?run=` value is the run's session id."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement

from portal.attendance.models import Attendance
from portal.core import runs
from portal.core.models import Webinar
from portal.registration.models import Registration


@dataclass(frozen=True)
class Run:
    """One start time of a live webinar, as the reports filter it."""

    session_id: str
    slot_id: int | None
    starts_at: datetime

    def registrations(self) -> ColumnElement[bool]:
        """Its registrants: those of its slot (the main time: no slot)."""
        if self.slot_id is None:
            return Registration.slot_id.is_(None)
        return Registration.slot_id == self.slot_id

    def visits(self) -> ColumnElement[bool]:
        """Its attendance rows (they carry the run's session id)."""
        return Attendance.session_id == self.session_id


def choices(webinar: Webinar) -> list[Run]:
    """The runs to pick from: empty unless the webinar has several start times."""
    times = runs.start_times(webinar) if runs.has_runs(webinar) else []
    if len(times) < 2:
        return []
    return [Run(runs.run_session_id(webinar.webinar_id, slot_id), slot_id, at) for at, slot_id in times]


def chosen(webinar: Webinar, value: str | None) -> Run | None:
    """The run `?run=` names (None: all runs; an unknown value also means all)."""
    return next((r for r in choices(webinar) if r.session_id == value), None) if value else None
