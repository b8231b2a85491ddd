"""Manual approval (issue 12, point 7): the organizer approves or declines pending
registrations in bulk from the registrations list. Approving gives the registrant a join link
by mail (the confirmation, queued through `client_webinar_registered`); declining tells them
and frees their seat for the waiting list. One transaction, one audit row per registration."""
from __future__ import annotations

import logging

from sqlalchemy import select

from portal import audit, mail
from portal.core.models import User, Webinar
from portal.core.permissions import Action, require
from portal.errors import Invalid
from portal.extensions import db
from portal.registration import seats, service
from portal.registration.models import DECLINED, PENDING, Registration

log = logging.getLogger(__name__)

DECISIONS = ("approve", "decline")
MAX_IDS = 500


def decide(webinar: Webinar, ids: list[int], decision: str, *, actor: User) -> int:
    """Approve or decline the pending registrations among `ids`; returns how many changed
    (others — already decided, not pending, of another webinar — are left alone)."""
    require(actor, Action.EDIT, webinar)
    if decision not in DECISIONS:
        raise Invalid("Choose approve or decline.")
    if not ids:
        raise Invalid("Tick at least one registration first.")
    if len(ids) > MAX_IDS:
        raise Invalid("At most %(n)s registrations at once.", n=MAX_IDS)
    regs = db.session.scalars(select(Registration).where(
        Registration.webinar_id == webinar.webinar_id, Registration.registration_id.in_(ids),
        Registration.state == PENDING).order_by(Registration.registration_id)).all()
    for reg in regs:
        if decision == "approve":
            service.confirm(reg)
        else:
            reg.state = DECLINED
            mail.queue(reg, "declined", occurrence="declined")
            seats.free(reg)
        audit.record(db.session, kind="link", action=decision, webinar_id=webinar.webinar_id,
                     actor_user_id=actor.user_id, registration_id=reg.registration_id, lead_id=reg.lead_id)
    db.session.commit()
    log.info("webinar %s: %d registrations %sd by user %s", webinar.webinar_id, len(regs), decision, actor.user_id)
    return len(regs)
