"""A scripted dataset with known report numbers.

Registrations go through the real registration service, CTA/completion events through Core's
outbox (events.emit) and AutoWebinar state through its user_meta store. Attendance rows are
written directly with fixed times, because the room's enter/leave stamp "now" and the report
numbers below depend on exact intervals.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from portal.attendance.models import Attendance
from portal.autowebinar import store
from portal.core import events
from portal.core.models import Webinar
from portal.extensions import db
from portal.registration.service import register

T0 = datetime(2030, 1, 15, 10, 0, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


@dataclass
class Dataset:
    webinar: Webinar
    regs: dict[str, object] = field(default_factory=dict)  # key -> Registration
    tokens: dict[str, str] = field(default_factory=dict)


def _visit(reg, session_id, start, end, reason, *, completed=None, connection="c1"):
    db.session.add(Attendance(webinar_id=reg.webinar_id, lead_id=reg.lead_id, session_id=session_id,
                              connection_id=connection, entered_at=at(start),
                              left_at=at(end) if end is not None else None,
                              leave_reason=reason, completed_at=at(completed) if completed is not None else None))


def live(make, owner) -> Dataset:
    """Four registrants of a live webinar.

    anna   (newsletter): two overlapping tabs 10:00-10:30 + 10:20-10:40 -> 40 min; completed; CTA
    boris  (direct):     10:05-10:15 -> 10 min
    eve    (-1+2):       never came; her name and source look like spreadsheet formulas
    dmitry (newsletter): 10:10-10:50 -> 40 min; completed by event only
    """
    webinar = make.webinar(owner=owner, status="scheduled", title="Live report", timezone="UTC")
    data = Dataset(webinar)
    for key, name, email, source in (
        ("anna", "Анна Иванова", "anna@example.test", "newsletter"),
        ("boris", "Boris", "boris@example.test", ""),
        ("eve", "=HYPERLINK(\"http://x\")", "eve@example.test", "-1+2"),
        ("dmitry", "Дмитрий", "dmitry@example.test", "newsletter"),
    ):
        outcome = register(webinar, name=name, email=email, source=source)
        data.regs[key], data.tokens[key] = outcome.registration, outcome.token
    session_id = str(uuid.uuid4())
    r = data.regs
    _visit(r["anna"], session_id, 0, 30, "disconnected", connection="tab-1")
    _visit(r["anna"], session_id, 20, 40, "left", completed=40, connection="tab-2")
    _visit(r["boris"], session_id, 5, 15, "left")
    _visit(r["dmitry"], session_id, 10, 50, "webinar_finished")
    events.emit("client_webinar_cta_clicked", webinar_id=webinar.webinar_id, lead_id=r["anna"].lead_id,
                data={"registration_id": r["anna"].registration_id})
    events.emit("client_webinar_completed", webinar_id=webinar.webinar_id, lead_id=r["dmitry"].lead_id,
                session_id=session_id, data={})
    db.session.commit()
    return data


def auto(make, owner) -> Dataset:
    """Five registrants of an auto webinar with progress 100 (completed, CTA), 50, 25, 0 and none."""
    webinar = make.webinar(owner=owner, status="live", type="auto", title="Auto report")
    data = Dataset(webinar)
    for key in ("p100", "p50", "p25", "p0", "none"):
        outcome = register(webinar, name=f"Viewer {key}", email=f"{key}@example.test", starts_at=T0,
                           source="ref_" + key[:2])
        data.regs[key], data.tokens[key] = outcome.registration, outcome.token
    wid = webinar.webinar_id
    for key, percent, minutes in (("p100", 100, 2), ("p50", 50, 1), ("p25", 25, 1), ("p0", 0, 0)):
        reg = data.regs[key]
        session_id = str(uuid.uuid4())
        store.put(reg.lead_id, wid, {"session_id": session_id, "progress_percent": percent, "started_at": T0})
        _visit(reg, session_id, 0, minutes, "left")
    store.put(data.regs["p100"].lead_id, wid, {"completed": True, "cta_clicked_at": at(1)})
    db.session.commit()
    return data
