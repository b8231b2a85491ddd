"""The webinar list and the dashboard: webinars in the viewer's scope, with counts."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from portal.admin import access, search
from portal.admin.pagination import Page, clamp
from portal.attendance.models import Attendance
from portal.core.models import Status, User, Webinar, WebinarType
from portal.extensions import db
from portal.registration.models import Registration

LIST_PER_PAGE = 25
STATUSES = tuple(s.value for s in Status)
TYPES = tuple(t.value for t in WebinarType)
RUNNING = (Status.live.value, Status.paused.value)


@dataclass
class WebinarItem:
    webinar: Webinar
    registrations: int = 0
    present: int = 0


@dataclass(frozen=True)
class Filters:
    status: str = ""
    type: str = ""
    q: str = ""

    @classmethod
    def parse(cls, args) -> Filters:  # noqa: ANN001 - request.args
        status, kind = args.get("status", ""), args.get("type", "")
        return cls(status=status if status in STATUSES else "", type=kind if kind in TYPES else "",
                   q=search.normalise(args.get("q")))

    def as_args(self) -> dict[str, str]:
        return {k: v for k, v in (("status", self.status), ("type", self.type), ("q", self.q)) if v}


def registration_counts(webinar_ids: list[int]) -> dict[int, int]:
    if not webinar_ids:
        return {}
    rows = db.session.execute(
        select(Registration.webinar_id, func.count()).where(Registration.webinar_id.in_(webinar_ids))
        .group_by(Registration.webinar_id)
    )
    return {key: n for key, n in rows}


def present_counts(webinar_ids: list[int]) -> dict[int, int]:
    """Distinct attendees with an open attendance interval, per webinar."""
    if not webinar_ids:
        return {}
    rows = db.session.execute(
        select(Attendance.webinar_id, func.count(func.distinct(Attendance.lead_id)))
        .where(Attendance.webinar_id.in_(webinar_ids), Attendance.left_at.is_(None))
        .group_by(Attendance.webinar_id)
    )
    return {key: n for key, n in rows}


def _items(webinars: list[Webinar], *, present: bool = False) -> list[WebinarItem]:
    ids = [w.webinar_id for w in webinars]
    counts = registration_counts(ids)
    here = present_counts([w.webinar_id for w in webinars if w.status in RUNNING]) if present else {}
    return [WebinarItem(w, counts.get(w.webinar_id, 0), here.get(w.webinar_id, 0)) for w in webinars]


def webinar_page(user: User, filters: Filters, *, number: int = 1, per_page: int = LIST_PER_PAGE) -> Page[WebinarItem]:
    where = [access.scope(user)]
    if filters.status:
        where.append(Webinar.status == filters.status)
    if filters.type:
        where.append(Webinar.type == filters.type)
    if filters.q:
        where.append(search.contains(Webinar.title, filters.q, dialect=db.session.get_bind().dialect.name))
    total = db.session.scalar(select(func.count()).select_from(Webinar).where(*where)) or 0
    number = clamp(number, total=total, per_page=per_page)
    webinars = db.session.scalars(
        select(Webinar).where(*where).options(joinedload(Webinar.owner))
        .order_by(Webinar.created_at.desc(), Webinar.webinar_id.desc())
        .limit(per_page).offset((number - 1) * per_page)
    ).all()
    return Page(_items(list(webinars)), number, per_page, total)


@dataclass
class Dashboard:
    running: list[WebinarItem]
    upcoming: list[WebinarItem]
    drafts: int


def dashboard(user: User, *, now: datetime, limit: int = 20) -> Dashboard:
    """Running (live / paused) and upcoming (scheduled) webinars, soonest first."""
    scope = access.scope(user)
    running = db.session.scalars(
        select(Webinar).where(scope, Webinar.status.in_(RUNNING))
        .order_by(Webinar.scheduled_at.is_(None), Webinar.scheduled_at, Webinar.webinar_id).limit(limit)
    ).all()
    upcoming = db.session.scalars(
        select(Webinar).where(scope, Webinar.status == Status.scheduled.value)
        .order_by(Webinar.type != WebinarType.live.value, Webinar.scheduled_at.is_(None), Webinar.scheduled_at,
                  Webinar.webinar_id).limit(limit)
    ).all()
    drafts = db.session.scalar(
        select(func.count()).select_from(Webinar).where(scope, Webinar.status == Status.draft.value)
    ) or 0
    return Dashboard(_items(list(running), present=True), _items(list(upcoming)), drafts)
