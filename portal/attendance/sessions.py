"""Live sessions: one `session` row per run (webinar, slot), created the first time it is needed,
named by Core (`portal.core.runs.run_session_id`) so Core's events can name the run."""
from __future__ import annotations

from sqlalchemy import select, true, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from portal.attendance.models import LiveSession
from portal.core import runs
from portal.core.models import Webinar
from portal.db_types import utcnow
from portal.extensions import db
from portal.registration import choices
from portal.registration.models import Registration


def live_session_id(webinar: Webinar, *, slot_id: int | None) -> str:
    """The session id of (webinar, slot), inserting the row if it is missing (race-safe)."""
    found = _find(webinar.webinar_id, slot_id)
    if found is not None:
        return found
    dialect = db.session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    # ON CONFLICT DO NOTHING: two first attendees racing both end up in the winner's row.
    db.session.execute(
        insert(LiveSession)
        .values(
            session_id=runs.run_session_id(webinar.webinar_id, slot_id),
            webinar_id=webinar.webinar_id,
            session_type="live",
            slot_id=slot_id,
            started_at=webinar.started_at or utcnow(),
        )
        .on_conflict_do_nothing()
    )
    found = _find(webinar.webinar_id, slot_id)
    if found is None:  # cannot happen: the row was inserted or already there
        raise RuntimeError(f"no live session for webinar {webinar.webinar_id} slot {slot_id}")
    return found


def session_for(reg: Registration) -> str:
    """The live session a registration attends (its slot's)."""
    return live_session_id(reg.webinar, slot_id=reg.slot_id)


def in_current_run(reg: Registration, webinar: Webinar) -> bool:
    """Is the registrant's own start time the one running now (only they may be entered)?"""
    return runs.in_run(webinar, choices.start_of(webinar, slot=reg.slot, starts_at=reg.starts_at))


def find_session(webinar_id: int, slot_id: int | None) -> str | None:
    """The run's session id of (webinar, slot) when its row exists (reads only)."""
    return _find(webinar_id, slot_id)


def live_session_ids(webinar_id: int) -> list[str]:
    return list(
        db.session.scalars(
            select(LiveSession.session_id).where(
                LiveSession.webinar_id == webinar_id, LiveSession.session_type == "live"
            )
        )
    )


def end_sessions(webinar_id: int, *, session_ids: list[str] | None = None) -> None:
    """Stamp ended_at on the webinar's open live sessions, or on the named runs (inside the stop
    transaction)."""
    only = LiveSession.session_id.in_(session_ids) if session_ids is not None else true()
    db.session.execute(
        update(LiveSession)
        .where(LiveSession.webinar_id == webinar_id, LiveSession.ended_at.is_(None), only)
        .values(ended_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def _find(webinar_id: int, slot_id: int | None) -> str | None:
    slot_clause = LiveSession.slot_id.is_(None) if slot_id is None else LiveSession.slot_id == slot_id
    return db.session.scalar(
        select(LiveSession.session_id).where(
            LiveSession.webinar_id == webinar_id, LiveSession.session_type == "live", slot_clause
        )
    )
