"""Seats per start time, manual approval and the waiting list (issue 12, point 7).

A registration's `state`: confirmed (opens the room), pending (waits for the organizer),
declined, waitlisted (asked to be told when a seat of a full start time frees up). Confirmed
and pending registrations hold a seat; cancelled and revoked ones give theirs back.
"""
from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import ColumnElement, func, select, update

from portal import signals
from portal.core.models import Webinar, WebinarType
from portal.errors import Conflict
from portal.extensions import db
from portal.registration.models import CONFIRMED, PENDING, SEATED, Registration

log = logging.getLogger(__name__)


class Full(Conflict):
    """Every seat of the chosen start time is taken."""

    code = "full"


def limited(webinar: Webinar, starts_at: datetime | None) -> bool:
    """Does the capacity apply? Live start times and auto scheduled starts; an auto watch-now
    start is a session of one (its start carries microseconds: autowebinar's rule)."""
    if webinar.capacity is None:
        return False
    if webinar.type == WebinarType.auto.value:
        return starts_at is not None and starts_at.microsecond == 0
    return True


def _same_start(webinar: Webinar, slot_id: int | None, starts_at: datetime | None) -> ColumnElement[bool]:
    if webinar.type == WebinarType.auto.value:
        return Registration.starts_at == starts_at
    return Registration.slot_id.is_(None) if slot_id is None else Registration.slot_id == slot_id


def taken(webinar: Webinar, *, slot_id: int | None, starts_at: datetime | None) -> int:
    """Seats held at this start time (confirmed or pending, not cancelled, not revoked)."""
    return db.session.scalar(
        select(func.count()).select_from(Registration).where(
            Registration.webinar_id == webinar.webinar_id, _same_start(webinar, slot_id, starts_at),
            Registration.state.in_(SEATED), Registration.cancelled_at.is_(None), Registration.revoked_at.is_(None))
    ) or 0


def is_full(webinar: Webinar, *, slot_id: int | None, starts_at: datetime | None) -> bool:
    return limited(webinar, starts_at) and taken(webinar, slot_id=slot_id, starts_at=starts_at) >= (
        webinar.capacity or 0)


def admit(webinar: Webinar, *, slot_id: int | None, starts_at: datetime | None) -> str:
    """The state a new registration gets, in the caller's transaction; Full when no seat is left.

    With a capacity, the webinar row is written first (a no-op UPDATE): it takes SQLite's write
    lock or PostgreSQL's row lock, so two registrations for the last seat count one after the
    other and only one of them gets it."""
    if limited(webinar, starts_at):
        db.session.execute(update(Webinar).where(Webinar.webinar_id == webinar.webinar_id)
                           .values(updated_at=Webinar.updated_at).execution_options(synchronize_session=False))
        if taken(webinar, slot_id=slot_id, starts_at=starts_at) >= (webinar.capacity or 0):
            raise Full("This time is fully booked.")
    return PENDING if webinar.requires_approval else CONFIRMED


def free(reg: Registration) -> None:
    """A seat of `reg`'s start time was given back (cancelled, revoked, declined): in the
    caller's transaction, `signals.seat_freed` lets the waiting list's first be told."""
    if reg.webinar.capacity is not None:
        signals.send(signals.seat_freed, reg)


def first_waiting(webinar: Webinar, *, slot_id: int | None, starts_at: datetime | None,
                  skip: set[int]) -> Registration | None:
    """The longest-waiting waitlisted registration of this start time not in `skip`."""
    query = (select(Registration)
             .where(Registration.webinar_id == webinar.webinar_id, _same_start(webinar, slot_id, starts_at),
                    Registration.state == "waitlisted", Registration.cancelled_at.is_(None))
             .order_by(Registration.registered_at, Registration.registration_id))
    if skip:
        query = query.where(Registration.registration_id.not_in(skip))
    return db.session.scalars(query.limit(1)).first()
