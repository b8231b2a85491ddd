""""Email me my link" (issue 10, message 5): POST /w/<slug>/link-recovery.

The answer is the same whether or not the address is registered (a redirect to the
registration page saying a link is on its way if it is), so nobody learns who registered.
Rate limited per client and per address. For a registered address (not revoked, not banned)
the join token is rotated and the new link is mailed to that address only, in one
transaction; the old link stops opening the room and its open sockets close
(`signals.join_link_rotated`, heard by the room).
"""
from __future__ import annotations

import logging

from flask import Blueprint, current_app, redirect, request, url_for
from sqlalchemy import select

from portal import signals
from portal.core.models import User, Webinar
from portal.core.permissions import Action, can
from portal.core.users import normalise_email
from portal.errors import N_, NotFound
from portal.extensions import db
from portal.mail.ledger import queue
from portal.ratelimit import limiter
from portal.registration import inputs, tokens
from portal.registration.models import Registration

log = logging.getLogger(__name__)

bp = Blueprint("mail", __name__)

PER_CLIENT = (10, 600)  # requests per window (seconds) per client address
PER_ADDRESS = (3, 3600)  # mails per window per (webinar, address)
TOO_MANY = N_("Too many link requests. Please wait a while and try again.")


def _answer(slug: str, outcome: str):
    return redirect(url_for("registration.page", slug=slug, link=outcome, _anchor="link-recovery"), 303)


@bp.post("/w/<slug>/link-recovery")
def link_recovery(slug: str):
    webinar = db.session.scalar(select(Webinar).where(Webinar.slug == slug)) if len(slug) <= 120 else None
    if webinar is None or not can(None, Action.VIEW_PUBLIC, webinar):
        raise NotFound("Page not found")
    limiter().hit(f"link-recovery:ip:{request.remote_addr}", limit=PER_CLIENT[0], window=PER_CLIENT[1],
                  message=TOO_MANY)
    email = normalise_email(request.form.get("email") or "")
    if not email or len(email) > inputs.EMAIL_MAX or "@" not in email or any(c in email for c in "\r\n <>"):
        return _answer(webinar.slug, "invalid")
    limiter().hit(f"link-recovery:to:{webinar.webinar_id}:{email}", limit=PER_ADDRESS[0], window=PER_ADDRESS[1],
                  message=TOO_MANY)
    regs = list(db.session.scalars(
        select(Registration).join(User, User.user_id == Registration.lead_id)
        .where(Registration.webinar_id == webinar.webinar_id, User.email == email,
               Registration.revoked_at.is_(None), Registration.banned_at.is_(None))))
    for reg in regs:
        token = tokens.rotate(reg)
        queue(reg, "link_recovery", occurrence=f"recovery-{reg.join_token_hash[:16]}", context={"join_token": token})
        signals.after_commit(signals.join_link_rotated, reg.registration_id, webinar_id=reg.webinar_id,
                             lead_id=reg.lead_id)
    db.session.commit()
    if regs:
        current_app.extensions["portal.mail.sender"].wake()
    log.info("link recovery on webinar %s: %d link(s) mailed", webinar.webinar_id, len(regs))
    return _answer(webinar.slug, "sent")
