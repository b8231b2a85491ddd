"""Revoking and restoring a registrant's access, and re-issuing a join link.

Revoke/restore never touch the join token, so a restored registrant's original link works
again. Re-issuing rotates it: the old link stops working at once (its sockets close with
LINK_REISSUED), and the new one is shown to the organizer once (only its hash is stored)."""
from __future__ import annotations

import logging

from portal import audit, mail, realtime
from portal.attendance import ledger as attendance
from portal.core.models import Webinar
from portal.core.permissions import Action, Actor, require
from portal.db_types import utcnow
from portal.errors import Conflict, NotFound
from portal.extensions import db
from portal.registration import seats
from portal.registration.models import Registration
from portal.registration.tokens import rotate
from portal.room import cohorts
from portal.room.sockets import LINK_REISSUED

log = logging.getLogger(__name__)


def _audit(reg: Registration, action: str, actor: Actor) -> None:
    """The link action's audit row, in the action's transaction."""
    audit.record(db.session, kind="link", action=action, webinar_id=reg.webinar_id,
                 actor_user_id=getattr(actor, "user_id", None), registration_id=reg.registration_id,
                 lead_id=reg.lead_id)


def get(webinar: Webinar, registration_id: int) -> Registration:
    reg = db.session.get(Registration, registration_id)
    if reg is None or reg.webinar_id != webinar.webinar_id:
        raise NotFound("No such registration.")
    return reg


def revoke(reg: Registration, *, actor: Actor) -> Registration:
    """Close the registrant's join link (idempotent): attendance closed as "revoked" (with its
    client_webinar_left), then their open sockets are disconnected — like a console ban."""
    require(actor, Action.EDIT, reg.webinar)
    if reg.revoked_at is None:
        reg.revoked_at = utcnow()
        attendance.leave_everywhere(reg, reason="revoked")
        seats.free(reg)  # the waiting list's first is told, in this transaction
        _audit(reg, "revoke", actor)
        db.session.commit()
        log.info("registration %s revoked", reg.registration_id)
        realtime.disconnect(cohorts.channel_of(reg), member=reg.lead_id, reason="revoked")
    return reg


def restore(reg: Registration, *, actor: Actor) -> Registration:
    """Give access back through the same link (idempotent)."""
    require(actor, Action.EDIT, reg.webinar)
    if reg.revoked_at is not None:
        reg.revoked_at = None
        _audit(reg, "restore", actor)
        db.session.commit()
        log.info("registration %s restored", reg.registration_id)
    return reg



def reissue(reg: Registration, *, actor: Actor, email: bool = False) -> str:
    """A new join link for `reg` (returned once): the old token stops opening the room at once
    and its open sockets close with LINK_REISSUED. A banned registrant gets none.
    `email`: also mail the new link to the registrant ("resend link"), in the same transaction."""
    require(actor, Action.EDIT, reg.webinar)
    if reg.banned_at is not None:
        raise Conflict("This attendee is banned from the webinar, so a new link would not open the room.")
    token = rotate(reg)
    _audit(reg, "resend" if email else "reissue", actor)
    if email:
        mail.queue(reg, "link_recovery", occurrence=f"resend-{reg.join_token_hash[:16]}",
                   context={"join_token": token, "by_organizer": True})
    db.session.commit()
    log.info("registration %s: join link re-issued", reg.registration_id)
    realtime.disconnect(cohorts.channel_of(reg), member=reg.lead_id, reason=LINK_REISSUED)
    return token
