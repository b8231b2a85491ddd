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

from sqlalchemy import case, distinct, exists, func, null, or_, select, union_all

from portal.admin import facts, reports
from portal.attendance.models import Attendance
from portal.core.models import OutboxEvent, UserMeta, Webinar, WebinarType
from portal.extensions import db
from portal.registration.models import Registration

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


def _flags(webinar: Webinar):  # noqa: ANN202 - a Select
    """One row per registration: its lead, source and the three facts as EXISTS probes
    (each an index lookup, so the cost grows linearly with the registrations)."""
    wid = webinar.webinar_id
    lead = Registration.lead_id

    def event(name: str):  # noqa: ANN202
        return exists().where(OutboxEvent.webinar_id == wid, OutboxEvent.lead_id == lead, OutboxEvent.event == name)

    def meta(name: str, *condition):  # noqa: ANN002, ANN202
        return exists().where(UserMeta.user_id == lead, UserMeta.meta_key == facts.meta_key(name, wid), *condition)

    visits = Attendance.webinar_id == wid, Attendance.lead_id == lead
    attended = exists().where(*visits)
    completed = or_(exists().where(*visits, Attendance.completed_at.is_not(None)), event(facts.COMPLETED_EVENT))
    clicked = event(facts.CTA_EVENT)
    if webinar.type == WebinarType.auto.value:
        completed = or_(completed, meta(facts.META_COMPLETED, UserMeta.meta_value.in_(facts.TRUE_VALUES)))
        clicked = or_(clicked, meta(facts.META_CTA, UserMeta.meta_value.is_not(None), UserMeta.meta_value != ""))
    return (
        select(
            lead.label("lead_id"),
            func.coalesce(Registration.source, DIRECT).label("source"),
            case((attended, lead)).label("attended"),
            case((completed, lead)).label("completed"),
            case((clicked, lead)).label("clicked"),
        )
        .where(Registration.webinar_id == wid)
    )


def summary(webinar: Webinar) -> tuple[Funnel, list[tuple[str, Funnel]]]:
    """The funnel over all registrants and per source (biggest first), in one statement: the
    per-registration flags are computed once (a materialized CTE) and counted twice."""
    reports.no_jit()
    flags = _flags(webinar).cte("flags").prefix_with("MATERIALIZED")
    counts = [
        func.count(distinct(flags.c.lead_id)),
        func.count(distinct(flags.c.attended)),
        func.count(distinct(flags.c.completed)),
        func.count(distinct(flags.c.clicked)),
    ]
    total = select(null().label("source"), *counts)
    per_source = select(flags.c.source, *counts).group_by(flags.c.source)
    funnel, sources = Funnel(), []
    for source, *numbers in db.session.execute(union_all(total, per_source)):
        if source is None:
            funnel = Funnel(*numbers)
        else:
            sources.append((source, Funnel(*numbers)))
    return funnel, sorted(sources, key=lambda item: (-item[1].registered, item[0]))


def funnel(webinar: Webinar) -> Funnel:
    """The webinar's funnel over all registrants."""
    return summary(webinar)[0]


def by_source(webinar: Webinar) -> list[tuple[str, Funnel]]:
    """The funnel per registration source (utm/ref), biggest source first."""
    return summary(webinar)[1]
