"""Chat moderation from the console: hide a message, shadow-mute, ban.

- hide: the message's moderation_status becomes `hidden`; every room page drops it (pushed as
  a tombstone), the console keeps it greyed out.
- mute/unmute: Registration.chat_muted_at; the attendee's NEW messages are stored `shadowed`
  (see portal.room.chat). Earlier messages stay.
- ban: Registration.banned_at on every registration of the lead for this webinar: the join
  link stops working (same 404 as an unknown link), their open attendance rows close with
  reason `banned` (+ client_webinar_left), and their sockets are closed.
- unhide: a hidden message is `visible` again; every room page shows it again.
- unban: banned_at cleared on the lead's registrations of this webinar: their old join link
  works again (nothing was deleted; attendance rows closed by the ban stay closed).
"""
from __future__ import annotations

import logging

from sqlalchemy import select

from portal.attendance import ledger
from portal.core.models import User, Webinar
from portal.core.permissions import Action, require
from portal.db_types import utcnow
from portal.errors import NotFound
from portal.extensions import db
from portal.registration.models import Registration
from portal.room.models import ChatMessage
from portal.signals import after_commit, message_hidden, message_unhidden, moderation_changed

log = logging.getLogger(__name__)


def hide_message(webinar: Webinar, message_id: int, *, actor: User) -> ChatMessage:
    """Hide one message for everyone (idempotent)."""
    require(actor, Action.MODERATE, webinar)
    message = _message(webinar, message_id)
    if message.moderation_status != "hidden":
        message.moderation_status = "hidden"
        after_commit(message_hidden, message.message_id, webinar_id=webinar.webinar_id, actor_id=actor.user_id)
        db.session.commit()
        log.info("message %s of webinar %s hidden by %s", message_id, webinar.webinar_id, actor.user_id)
    return message


def unhide_message(webinar: Webinar, message_id: int, *, actor: User) -> ChatMessage:
    """Show a hidden message again (idempotent: a message that is not hidden stays as it is)."""
    require(actor, Action.MODERATE, webinar)
    message = _message(webinar, message_id)
    if message.moderation_status == "hidden":
        message.moderation_status = "visible"
        after_commit(message_unhidden, message.message_id, webinar_id=webinar.webinar_id, actor_id=actor.user_id)
        db.session.commit()
        log.info("message %s of webinar %s shown again by %s", message_id, webinar.webinar_id, actor.user_id)
    return message


def _message(webinar: Webinar, message_id: int) -> ChatMessage:
    message = db.session.get(ChatMessage, message_id)
    if message is None or message.webinar_id != webinar.webinar_id:
        raise NotFound("This message does not exist.")
    return message


def set_muted(webinar: Webinar, lead_id: int, *, muted: bool, actor: User) -> list[Registration]:
    """Shadow-mute (or unmute) a lead in this webinar's chat."""
    require(actor, Action.MODERATE, webinar)
    regs = _registrations(webinar, lead_id)
    for reg in regs:
        reg.chat_muted_at = (reg.chat_muted_at or utcnow()) if muted else None
    after_commit(moderation_changed, webinar.webinar_id, lead_id=lead_id, action="mute" if muted else "unmute",
                 actor_id=actor.user_id)
    db.session.commit()
    log.info("lead %s %s in webinar %s by %s", lead_id, "muted" if muted else "unmuted",
             webinar.webinar_id, actor.user_id)
    return regs


def ban(webinar: Webinar, lead_id: int, *, actor: User) -> list[Registration]:
    """Ban a lead: link dead, attendance closed (banned), sockets closed."""
    require(actor, Action.MODERATE, webinar)
    regs = _registrations(webinar, lead_id)
    now = utcnow()
    for reg in regs:
        if reg.banned_at is None:
            reg.banned_at = now
    ledger.leave_everywhere(regs[0], reason="banned")
    after_commit(moderation_changed, webinar.webinar_id, lead_id=lead_id, banned=True, action="ban",
                 actor_id=actor.user_id)
    db.session.commit()
    log.info("lead %s banned from webinar %s by %s", lead_id, webinar.webinar_id, actor.user_id)
    return regs


def unban(webinar: Webinar, lead_id: int, *, actor: User) -> list[Registration]:
    """Lift a ban: the lead's registrations of this webinar open the room again with their old
    link (idempotent: a lead who is not banned is left as is, and nothing is announced)."""
    require(actor, Action.MODERATE, webinar)
    regs = _registrations(webinar, lead_id)
    banned = [reg for reg in regs if reg.banned_at is not None]
    if banned:
        for reg in banned:
            reg.banned_at = None
        after_commit(moderation_changed, webinar.webinar_id, lead_id=lead_id, banned=False, action="unban",
                     actor_id=actor.user_id)
        db.session.commit()
        log.info("lead %s unbanned in webinar %s by %s", lead_id, webinar.webinar_id, actor.user_id)
    return regs


def _registrations(webinar: Webinar, lead_id: int) -> list[Registration]:
    regs = list(db.session.scalars(
        select(Registration).where(Registration.webinar_id == webinar.webinar_id, Registration.lead_id == lead_id)
        .order_by(Registration.registration_id)
    ))
    if not regs:
        raise NotFound("This attendee is not registered for this webinar.")
    return regs
