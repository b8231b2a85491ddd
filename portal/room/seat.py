"""An attendee cancels their seat (issue 12), from the room or the confirmation page.

The registration is kept, marked `cancelled_at`, for reports: its link opens nothing any more
(Registration.has_access, the same 404 as a revoked link), its open attendance rows close
(reason "left", with client_webinar_left) and its room sockets close; reminder mails skip it
(portal.mail, see /work/coord/MAIL_API.md). Right after cancelling, the same link can take the
seat back ("keep my seat") while the webinar still takes registrations and no organizer or
moderator closed the link meanwhile.
"""
from __future__ import annotations

import logging

from sqlalchemy import select

from portal import realtime
from portal.attendance import ledger
from portal.core.permissions import Action, can
from portal.db_types import utcnow
from portal.errors import N_, Conflict, NotFound
from portal.extensions import db
from portal.registration import seats
from portal.registration.models import Registration
from portal.registration.tokens import hash_token
from portal.room import cohorts
from portal.room.access import INVALID_LINK

log = logging.getLogger(__name__)

CLOSE_REASON = "cancelled"  # the room sockets' close reason (room.js shows it)


def cancel(reg: Registration) -> bool:
    """Cancel the seat (idempotent): True when this call cancelled it."""
    if reg.cancelled_at is not None:
        return False
    reg.cancelled_at = utcnow()
    ledger.leave_everywhere(reg, reason="left")
    seats.free(reg)  # issue 12: the waiting list's first is told, in this transaction
    db.session.commit()
    log.info("registration %s cancelled by its registrant", reg.registration_id)
    realtime.disconnect(cohorts.channel_of(reg), member=reg.lead_id, reason=CLOSE_REASON)
    return True


def cancelled_or_404(token: str) -> Registration:
    """The cancelled registration of a join token (only its own link can take the seat back)."""
    reg = db.session.scalar(select(Registration).where(Registration.join_token_hash == hash_token(token))) \
        if token and len(token) <= 64 else None
    if reg is None or reg.cancelled_at is None:
        raise NotFound(INVALID_LINK)
    return reg


def keep(reg: Registration) -> Registration:
    """Take a cancelled seat back with the same link (refused once registration closed or the
    link was revoked or banned meanwhile)."""
    if reg.revoked_at is not None or reg.banned_at is not None:
        raise NotFound(INVALID_LINK)
    if not can(None, Action.REGISTER, reg.webinar):
        raise Conflict(N_("Registration for this webinar is closed, so the seat cannot be taken back."))
    if seats.is_full(reg.webinar, slot_id=reg.slot_id, starts_at=reg.starts_at):  # issue 12: capacity
        raise seats.Full(N_("This time is fully booked meanwhile, so the seat cannot be taken back."))
    reg.cancelled_at = None
    db.session.commit()
    log.info("registration %s taken back by its registrant", reg.registration_id)
    return reg
