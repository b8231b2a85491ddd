"""Per-registration times for the registrations table and CSV (issue 12, point 6): first
join, last leave and the first CTA click. Two queries per page or CSV chunk, whatever its size.
"""
from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from portal.admin import facts
from portal.attendance.models import Attendance
from portal.core.models import OutboxEvent, UserMeta, Webinar, WebinarType
from portal.extensions import db

if TYPE_CHECKING:  # reports imports this module; the row type is only annotated here
    from portal.admin.reports import RegistrationRow


def add_times(webinar: Webinar, rows: list[RegistrationRow], lead_ids: list[int]) -> None:
    """Fill first_join, last_leave (None while a visit is open) and cta_clicked_at."""
    if not rows:
        return
    wid = webinar.webinar_id
    joined: dict[int, tuple[datetime, datetime | None, int]] = {}
    for lead_id, first, last, still_open in db.session.execute(
        select(Attendance.lead_id, func.min(Attendance.entered_at), func.max(Attendance.left_at),
               func.count(Attendance.attendance_id) - func.count(Attendance.left_at))
        .where(Attendance.webinar_id == wid, Attendance.lead_id.in_(lead_ids))
        .group_by(Attendance.lead_id)
    ):
        joined[lead_id] = (first, last, still_open)
    clicked = cta_times(webinar, lead_ids)
    for row in rows:
        first, last, still_open = joined.get(row.lead_id, (None, None, 0))
        row.first_join = first
        row.last_leave = None if still_open else last
        row.cta_clicked_at = clicked.get(row.lead_id)


def cta_times(webinar: Webinar, lead_ids: list[int]) -> dict[int, datetime]:
    """The first CTA click of each lead: the outbox event (live) or AutoWebinar's key (auto)."""
    wid = webinar.webinar_id
    if webinar.type == WebinarType.auto.value:
        key = facts.meta_key(facts.META_CTA, wid)
        found: dict[int, datetime] = {}
        for user_id, value in db.session.execute(
            select(UserMeta.user_id, UserMeta.meta_value)
            .where(UserMeta.user_id.in_(lead_ids), UserMeta.meta_key == key)
        ):
            moment = _parse(value)
            if moment is not None:
                found[user_id] = moment
        return found
    rows = db.session.execute(
        select(OutboxEvent.lead_id, func.min(OutboxEvent.occurred_at))
        .where(OutboxEvent.webinar_id == wid, OutboxEvent.event == facts.CTA_EVENT,
               OutboxEvent.lead_id.in_(lead_ids))
        .group_by(OutboxEvent.lead_id)
    )
    return {lead_id: at for lead_id, at in rows}


def _parse(value: str | None) -> datetime | None:
    """AutoWebinar stores the click as ISO 8601 UTC (portal.autowebinar.store)."""
    try:
        parsed = datetime.fromisoformat((value or "").strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
