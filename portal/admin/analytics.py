"""The funnel registered -> attended -> completed -> CTA clicked, overall and per source.

Counts are distinct leads among the webinar's registrants:
- registered: has a registration;
- attended: has at least one attendance row (entered the room);
- completed: an attendance row with completed_at, a client_webinar_completed event, or (auto)
  user_meta autowebinar_completed:<id> true;
- CTA clicked: a client_webinar_cta_clicked event or (auto) autowebinar_cta_clicked_at:<id>.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, distinct, func, select, union
from sqlalchemy.sql import Subquery

from portal.admin import facts
from portal.core.models import OutboxEvent, UserMeta, Webinar
from portal.extensions import db
from portal.registration.models import Registration
from portal.room.models import Attendance

DIRECT = ""


def rate(part: int, whole: int) -> float | None:
    """part / whole, or None when there is nothing to divide by."""
    return part / whole if whole else None


@dataclass(frozen=True)
class Funnel:
    registered: int = 0
    attended: int = 0
    completed: int = 0
    cta_clicked: int = 0

    @property
    def attendance_rate(self) -> float | None:
        """attended / registered"""
        return rate(self.attended, self.registered)

    @property
    def completion_rate(self) -> float | None:
        """completed / attended"""
        return rate(self.completed, self.attended)

    @property
    def cta_rate(self) -> float | None:
        """CTA clicked / attended"""
        return rate(self.cta_clicked, self.attended)

    @property
    def conversion(self) -> float | None:
        """CTA clicked / registered"""
        return rate(self.cta_clicked, self.registered)

    def steps(self) -> list[tuple[str, int, float | None]]:
        """(key, count, share of registered) for each funnel step."""
        return [
            ("registered", self.registered, rate(self.registered, self.registered)),
            ("attended", self.attended, rate(self.attended, self.registered)),
            ("completed", self.completed, rate(self.completed, self.registered)),
            ("cta_clicked", self.cta_clicked, rate(self.cta_clicked, self.registered)),
        ]


def _registrant_meta(webinar: Webinar, name: str):  # noqa: ANN202 - a Select
    """Registrants with an AutoWebinar key (joined through registration: index lookups only)."""
    return (
        select(UserMeta.user_id.label("lead_id"), UserMeta.meta_value.label("value"))
        .join(Registration, and_(Registration.lead_id == UserMeta.user_id, Registration.webinar_id == webinar.webinar_id))
        .where(UserMeta.meta_key == facts.meta_key(name, webinar.webinar_id))
    )


def _lead_sets(webinar: Webinar) -> tuple[Subquery, Subquery, Subquery]:
    wid = webinar.webinar_id
    attended = select(Attendance.lead_id).where(Attendance.webinar_id == wid).distinct().subquery("attended")
    completed_meta = _registrant_meta(webinar, facts.META_COMPLETED).subquery("completed_meta")
    completed = union(
        select(Attendance.lead_id).where(Attendance.webinar_id == wid, Attendance.completed_at.is_not(None)),
        select(OutboxEvent.lead_id).where(OutboxEvent.webinar_id == wid, OutboxEvent.event == facts.COMPLETED_EVENT),
        select(completed_meta.c.lead_id).where(completed_meta.c.value.in_(facts.TRUE_VALUES)),
    ).subquery("completed")
    cta_meta = _registrant_meta(webinar, facts.META_CTA).subquery("cta_meta")
    clicked = union(
        select(OutboxEvent.lead_id).where(OutboxEvent.webinar_id == wid, OutboxEvent.event == facts.CTA_EVENT),
        select(cta_meta.c.lead_id).where(cta_meta.c.value.is_not(None), cta_meta.c.value != ""),
    ).subquery("clicked")
    return attended, completed, clicked


def _select(webinar: Webinar, *columns):  # noqa: ANN001, ANN202
    attended, completed, clicked = _lead_sets(webinar)
    return (
        select(
            *columns,
            func.count(distinct(Registration.lead_id)),
            func.count(distinct(attended.c.lead_id)),
            func.count(distinct(completed.c.lead_id)),
            func.count(distinct(clicked.c.lead_id)),
        )
        .select_from(Registration)
        .outerjoin(attended, attended.c.lead_id == Registration.lead_id)
        .outerjoin(completed, completed.c.lead_id == Registration.lead_id)
        .outerjoin(clicked, clicked.c.lead_id == Registration.lead_id)
        .where(Registration.webinar_id == webinar.webinar_id)
    )


def funnel(webinar: Webinar) -> Funnel:
    """The webinar's funnel over all registrants."""
    row = db.session.execute(_select(webinar)).one()
    return Funnel(*row)


def by_source(webinar: Webinar) -> list[tuple[str, Funnel]]:
    """The funnel per registration source (utm/ref), biggest source first."""
    source = func.coalesce(Registration.source, DIRECT)
    rows = db.session.execute(_select(webinar, source).group_by(source))
    out = [(src or DIRECT, Funnel(*counts)) for src, *counts in rows]
    return sorted(out, key=lambda item: (-item[1].registered, item[0]))
