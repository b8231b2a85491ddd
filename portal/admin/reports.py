"""Read-only report queries: the registrations table and the attendance report.

Set-based: each page (or CSV chunk) is one registration query plus one query per fact
source (attendance, outbox, user_meta) for all of that page's leads — never one per row.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ARRAY, Float, Integer, Select, and_, any_, bindparam, cast, func, or_, select, text

from portal.admin import facts, intervals, search, visits
from portal.admin.pagination import PER_PAGE, Page, clamp
from portal.admin.runfilter import Run
from portal.attendance.models import Attendance, LiveSession
from portal.core.models import OutboxEvent, User, UserMeta, Webinar, WebinarSlot, WebinarType
from portal.extensions import db
from portal.registration.models import Registration
from portal.replay.service import REPLAY_PREFIX

CHUNK = 1000


def epoch(column):  # noqa: ANN001, ANN201 - a column -> a float SQL expression
    """A UTC timestamp column as POSIX seconds, computed by the database."""
    if db.session.get_bind().dialect.name == "sqlite":  # stored as naive UTC text
        return cast((func.julianday(column) - 2440587.5) * 86400.0, Float)
    return cast(func.extract("epoch", column), Float)  # numeric on PostgreSQL: a float here


def among(column, ids: list[int]):  # noqa: ANN001, ANN201 - a boolean SQL expression
    """`column IN ids`; on PostgreSQL one array parameter (`= ANY`), so a 1,000-id chunk is
    neither 1,000 placeholders to render nor a new statement text for the driver to parse."""
    if db.session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, ids, type_=ARRAY(Integer)))
    return column.in_(ids)


def no_jit() -> None:
    """PostgreSQL JIT-compiles queries its planner thinks are big (the funnel over 50,000
    registrants: ~0.4 s of compiling for ~0.15 s of work). Report queries are short, so JIT
    is switched off for the current transaction only."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL jit = off"))


def _rows_of(stmt):  # noqa: ANN001, ANN202 - a Select -> a Result
    """Run a read-only Core select on the session's connection: plain rows, no ORM layer
    (a large share of the export's time otherwise)."""
    return db.session.connection().execute(stmt)


@dataclass
class RegistrationRow:
    """One line of the registrations table (and of its CSV export)."""

    registration_id: int
    lead_id: int
    name: str
    email: str
    registered_at: datetime
    source: str
    slot_id: int | None
    slot_at: datetime | None  # the live slot's start, or the auto start the registrant chose
    revoked_at: datetime | None
    banned_at: datetime | None
    attended: bool = False
    watch_seconds: int = 0
    completed: bool = False
    cta_clicked: bool = False
    progress: int | None = None  # auto: 0/25/50/75/100
    # issue 12 (organizer): the registration's state and seat, answers, visit times, CTA time
    state: str = "confirmed"
    cancelled_at: datetime | None = None
    answers: dict[str, str] | None = None
    first_join: datetime | None = None
    last_leave: datetime | None = None  # None while still in the room (or never came)
    cta_clicked_at: datetime | None = None

    @property
    def has_access(self) -> bool:
        return self.revoked_at is None and self.banned_at is None and self.cancelled_at is None \
            and self.state == "confirmed"


def _registration_select(webinar: Webinar, *, q: str, run: Run | None = None) -> Select:
    stmt = (
        select(
            Registration.registration_id, Registration.lead_id, User.display_name, User.email,
            Registration.registered_at, Registration.source, Registration.slot_id,
            WebinarSlot.starts_at, Registration.starts_at, Registration.revoked_at, Registration.banned_at,
            Registration.state, Registration.cancelled_at, Registration.answers,
        )
        .join(User, User.user_id == Registration.lead_id)
        .outerjoin(WebinarSlot, WebinarSlot.slot_id == Registration.slot_id)
        .where(Registration.webinar_id == webinar.webinar_id)
    )
    if run is not None:
        stmt = stmt.where(run.registrations())
    if q:
        dialect = db.session.get_bind().dialect.name
        stmt = stmt.where(search.person_matches(User.display_name, User.email, q, dialect=dialect))
    return stmt


def _count(webinar: Webinar, *, q: str, run: Run | None = None) -> int:
    stmt = select(func.count()).select_from(Registration).where(Registration.webinar_id == webinar.webinar_id)
    if run is not None:
        stmt = stmt.where(run.registrations())
    if q:
        dialect = db.session.get_bind().dialect.name
        stmt = stmt.join(User, User.user_id == Registration.lead_id).where(
            search.person_matches(User.display_name, User.email, q, dialect=dialect)
        )
    return db.session.scalar(stmt) or 0


def _ordered(stmt: Select) -> Select:
    return stmt.order_by(Registration.registered_at.desc(), Registration.registration_id.desc())


def _rows(result) -> list[RegistrationRow]:  # noqa: ANN001 - a SQLAlchemy Result
    return [
        RegistrationRow(
            registration_id=r[0], lead_id=r[1], name=r[2], email=r[3], registered_at=r[4], source=r[5] or "",
            slot_id=r[6], slot_at=r[7] or r[8], revoked_at=r[9], banned_at=r[10],
            state=r[11], cancelled_at=r[12], answers=r[13],
        )
        for r in result
    ]


def registration_page(webinar: Webinar, *, q: str = "", number: int = 1, now: datetime,
                      per_page: int = PER_PAGE, run: Run | None = None) -> Page[RegistrationRow]:
    """One page of the registrations table (of one run's start time, or all), newest first,
    with its attendance facts."""
    no_jit()
    total = _count(webinar, q=q, run=run)
    number = clamp(number, total=total, per_page=per_page)
    offset = (number - 1) * per_page
    if q:
        stmt = _ordered(_registration_select(webinar, q=q, run=run)).limit(per_page).offset(offset)
    else:
        # Deferred join: skip rows on the registration index alone, then join the 50 kept.
        page_ids = _ordered(select(Registration.registration_id).where(Registration.webinar_id == webinar.webinar_id))
        if run is not None:
            page_ids = page_ids.where(run.registrations())
        page_ids = page_ids.limit(per_page).offset(offset).scalar_subquery()
        stmt = _ordered(_registration_select(webinar, q="").where(Registration.registration_id.in_(page_ids)))
    rows = _rows(_rows_of(stmt))
    add_facts(webinar, rows, now=now)
    return Page(rows, number, per_page, total)


def registration_row(webinar: Webinar, registration_id: int, *, now: datetime) -> RegistrationRow | None:
    """One table row (after a row action)."""
    stmt = _registration_select(webinar, q="").where(Registration.registration_id == registration_id)
    rows = _rows(_rows_of(stmt))
    add_facts(webinar, rows, now=now)
    return rows[0] if rows else None


def all_registration_rows(webinar: Webinar, *, q: str = "", now: datetime, chunk: int = CHUNK,
                          run: Run | None = None) -> Iterator[list[RegistrationRow]]:
    """The whole table (or one run's) in chunks, in page order (keyset pagination: no growing OFFSET)."""
    no_jit()
    base = _registration_select(webinar, q=q, run=run)
    last: tuple[datetime, int] | None = None
    while True:
        stmt = base
        if last is not None:
            # The first condition is a range the index can seek to; the second breaks ties.
            stmt = stmt.where(
                Registration.registered_at <= last[0],
                or_(Registration.registered_at < last[0], Registration.registration_id < last[1]),
            )
        rows = _rows(_rows_of(_ordered(stmt).limit(chunk)))
        if not rows:
            return
        add_facts(webinar, rows, now=now)
        yield rows
        if len(rows) < chunk:
            return
        last = (rows[-1].registered_at, rows[-1].registration_id)


def add_facts(webinar: Webinar, rows: list[RegistrationRow], *, now: datetime) -> None:
    """Fill attended / watch time / completed / CTA for `rows` with one query per source."""
    if not rows:
        return
    lead_ids = sorted({r.lead_id for r in rows})
    wid = webinar.webinar_id
    slotted = webinar.type == WebinarType.live.value and any(r.slot_id for r in rows)

    spans: dict[tuple[int, int | None], list[intervals.Interval]] = defaultdict(list)
    done: set[tuple[int, int | None]] = set()
    clock = facts.Clock(webinar, now=now)
    columns = [Attendance.lead_id, epoch(Attendance.entered_at), epoch(Attendance.left_at), Attendance.completed_at]
    stmt = select(*columns, LiveSession.slot_id if slotted else Attendance.attendance_id)
    if slotted:
        stmt = stmt.outerjoin(LiveSession, LiveSession.session_id == Attendance.session_id)
    stmt = stmt.where(Attendance.webinar_id == wid, among(Attendance.lead_id, lead_ids))
    for lead_id, entered, left, completed, slot_id in _rows_of(stmt):
        key = (lead_id, slot_id if slotted else None)
        spans[key].append((entered, clock.end(entered, left)))
        if completed is not None:
            done.add(key)

    completed_leads, cta_leads, progress = lead_flags(webinar, lead_ids)

    for row in rows:
        own = spans.get((row.lead_id, row.slot_id if slotted else None), [])
        # Sessions without a slot cannot be told apart, so they count for each registration.
        shared = spans.get((row.lead_id, None), []) if slotted and row.slot_id else []
        row.attended = bool(own or shared)
        row.watch_seconds = intervals.total_seconds([*own, *shared])
        row.completed = (row.lead_id in completed_leads or (row.lead_id, row.slot_id if slotted else None) in done
                         or (bool(shared) and (row.lead_id, None) in done))
        row.cta_clicked = row.lead_id in cta_leads
        row.progress = progress.get(row.lead_id)
    visits.add_times(webinar, rows, lead_ids)


def lead_flags(webinar: Webinar, lead_ids: list[int]) -> tuple[set[int], set[int], dict[int, int]]:
    """(completed, clicked the CTA, auto progress) for these leads, from the outbox and
    (auto) user_meta: two queries whatever the number of leads."""
    wid = webinar.webinar_id
    completed: set[int] = set()
    clicked: set[int] = set()
    progress: dict[int, int] = {}
    events = _rows_of(
        select(OutboxEvent.lead_id, OutboxEvent.event)
        .where(OutboxEvent.webinar_id == wid, OutboxEvent.event.in_([facts.COMPLETED_EVENT, facts.CTA_EVENT]),
               among(OutboxEvent.lead_id, lead_ids))
        .group_by(OutboxEvent.lead_id, OutboxEvent.event)
    )
    for lead_id, name in events:
        (completed if name == facts.COMPLETED_EVENT else clicked).add(lead_id)
    if webinar.type == WebinarType.auto.value:
        keys = {facts.meta_key(n, wid): n for n in (facts.META_COMPLETED, facts.META_CTA, facts.META_PROGRESS)}
        meta = _rows_of(
            select(UserMeta.user_id, UserMeta.meta_key, UserMeta.meta_value)
            .where(among(UserMeta.user_id, lead_ids), UserMeta.meta_key.in_(list(keys)))
        )
        for user_id, key, value in meta:
            name = keys[key]
            if name == facts.META_COMPLETED and facts.is_true(value):
                completed.add(user_id)
            elif name == facts.META_CTA and value:
                clicked.add(user_id)
            elif name == facts.META_PROGRESS and (value or "").strip().isdigit():
                progress[user_id] = int(value)
    return completed, clicked, progress


# --- attendance report -------------------------------------------------------------------------

@dataclass
class Visit:
    entered_at: datetime
    left_at: datetime | None
    leave_reason: str | None
    completed_at: datetime | None
    replay: bool = False  # a visit of the replay (portal.replay), not of the live run


@dataclass
class AttendeeRow:
    lead_id: int
    name: str
    email: str
    visits: list[Visit] = field(default_factory=list)
    total_seconds: int = 0
    completed: bool = False


def attendee_page(webinar: Webinar, *, number: int = 1, now: datetime, per_page: int = PER_PAGE,
                  run: Run | None = None) -> Page[AttendeeRow]:
    """Attendees (of one run, or all) in order of first entry, each with every join/leave interval."""
    no_jit()
    wid = webinar.webinar_id
    of_run = (run.visits(),) if run is not None else ()
    total = db.session.scalar(
        select(func.count(func.distinct(Attendance.lead_id))).where(Attendance.webinar_id == wid, *of_run)
    ) or 0
    number = clamp(number, total=total, per_page=per_page)
    first = func.min(Attendance.entered_at).label("first_entered")
    leads = _rows_of(
        select(Attendance.lead_id, User.display_name, User.email, first)
        .join(User, User.user_id == Attendance.lead_id)
        .where(Attendance.webinar_id == wid, *of_run)
        .group_by(Attendance.lead_id, User.display_name, User.email)
        .order_by(first, Attendance.lead_id)
        .limit(per_page).offset((number - 1) * per_page)
    ).all()
    rows = {lead_id: AttendeeRow(lead_id, name, email) for lead_id, name, email, _ in leads}
    clock = facts.Clock(webinar, now=now)
    if rows:
        visits = _rows_of(
            select(Attendance.lead_id, Attendance.entered_at, Attendance.left_at, Attendance.leave_reason,
                   Attendance.completed_at, Attendance.connection_id.startswith(REPLAY_PREFIX))
            .where(Attendance.webinar_id == wid, among(Attendance.lead_id, list(rows)), *of_run)
            .order_by(Attendance.entered_at, Attendance.attendance_id)
        )
        for lead_id, entered, left, reason, completed, replay in visits:
            rows[lead_id].visits.append(Visit(entered, left, reason, completed, bool(replay)))
        for row in rows.values():
            row.total_seconds = intervals.total_seconds(  # time at the live run; replay visits apart
                (v.entered_at.timestamp(), clock.end(v.entered_at.timestamp(), v.left_at and v.left_at.timestamp()))
                for v in row.visits if not v.replay
            )
        completed, _, _ = lead_flags(webinar, list(rows))
        for row in rows.values():
            row.completed = row.lead_id in completed or any(v.completed_at for v in row.visits)
    return Page(list(rows.values()), number, per_page, total)


@dataclass
class Overview:
    attendees: int
    peak: int
    average_seconds: int
    points: list[intervals.Point]


def attendance_overview(webinar: Webinar, *, now: datetime, buckets: int = 120, run: Run | None = None) -> Overview:
    """Attendee count, peak presence, average watch time and the presence timeline (of one run, or all)."""
    no_jit()
    per_lead: dict[int, list[intervals.Interval]] = defaultdict(list)
    clock = facts.Clock(webinar, now=now)
    result = _rows_of(
        select(Attendance.lead_id, epoch(Attendance.entered_at), epoch(Attendance.left_at))
        .where(Attendance.webinar_id == webinar.webinar_id, *((run.visits(),) if run is not None else ()))
    )
    for lead_id, entered, left in result:
        per_lead[lead_id].append((entered, clock.end(entered, left)))
    merged = [intervals.merge(spans) for spans in per_lead.values()]
    totals = [intervals.covered_seconds(spans) for spans in merged]
    presence = intervals.presence(merged, buckets=buckets)
    return Overview(
        attendees=len(merged),
        peak=presence.peak,
        average_seconds=int(sum(totals) / len(totals)) if totals else 0,
        points=presence.points,
    )


def leave_reasons(webinar: Webinar, *, run: Run | None = None) -> list[tuple[str, int]]:
    """How attendance intervals ended ("in the room" for those still open), of one run or all."""
    reason = func.coalesce(Attendance.leave_reason, "")
    rows = _rows_of(
        select(reason, func.count()).where(Attendance.webinar_id == webinar.webinar_id,
                                           *((run.visits(),) if run is not None else ()))
        .group_by(reason).order_by(func.count().desc())
    )
    return [(r, n) for r, n in rows]


def progress_distribution(webinar: Webinar) -> dict[str, int]:
    """Auto webinars: registrants by furthest progress step (and those who never started)."""
    key = facts.meta_key(facts.META_PROGRESS, webinar.webinar_id)
    rows = _rows_of(
        select(UserMeta.meta_value, func.count(func.distinct(Registration.lead_id)))
        .select_from(Registration)
        .outerjoin(UserMeta, and_(UserMeta.user_id == Registration.lead_id, UserMeta.meta_key == key))
        .where(Registration.webinar_id == webinar.webinar_id)
        .group_by(UserMeta.meta_value)
    )
    out = {"not_started": 0, **{str(step): 0 for step in facts.PROGRESS_STEPS}}
    for value, n in rows:
        value = (value or "").strip()
        if value.isdigit():
            reached = min(int(value), 100)
            out[str(max(step for step in facts.PROGRESS_STEPS if step <= reached))] += n
        else:
            out["not_started"] += n
    return out
