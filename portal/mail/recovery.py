""""Email me my link" (issue 10, message 5): POST /w/<slug>/link-recovery.

The answer is the same whether or not the address is registered (a redirect to the
registration page saying a link is on its way if it is), so nobody learns who registered.
Rate limited per client and per address. The request only checks and answers; a background
job (`mail_link`) looks the address up, so a registered and an unknown address take the same
path and time. For a registered address (not revoked, not banned) the job rotates the join
token and queues the new link to that address only, in one transaction; the old link stops
opening the room and its open sockets close (`signals.join_link_rotated`, heard by the room).
"""
from __future__ import annotations

import logging

from flask import Blueprint, Flask, current_app, redirect, request, url_for
from sqlalchemy import select

from portal import signals
from portal.core.models import User, Webinar
from portal.core.permissions import Action, can
from portal.core.users import normalise_email
from portal.errors import N_, NotFound
from portal.extensions import db
from portal.mail import jobs
from portal.mail.ledger import base_url, queue
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
    # The same path and time whether or not the address is registered: the look-up, the
    # rotation and the mail happen in a background job (portal.mail.jobs), never here.
    app, webinar_id, base = current_app._get_current_object(), webinar.webinar_id, base_url()  # type: ignore[attr-defined]
    jobs.start(app, lambda: mail_link(app, webinar_id, email, base=base), "link-recovery")
    return _answer(webinar.slug, "sent")


def mail_link(app: Flask, webinar_id: int, email: str, *, base: str) -> int:
    """Rotate the join token of `email`'s registrations for the webinar (not revoked, not
    banned) and queue the new link to that address, in one transaction; returns how many."""
    regs = list(db.session.scalars(
        select(Registration).join(User, User.user_id == Registration.lead_id)
        .where(Registration.webinar_id == webinar_id, User.email == email,
               Registration.revoked_at.is_(None), Registration.banned_at.is_(None))))
    for reg in regs:
        token = tokens.rotate(reg)
        queue(reg, "link_recovery", occurrence=f"recovery-{reg.join_token_hash[:16]}", context={"join_token": token},
              base=base)
        signals.after_commit(signals.join_link_rotated, reg.registration_id, webinar_id=reg.webinar_id,
                             lead_id=reg.lead_id)
    db.session.commit()
    if regs:
        app.extensions["portal.mail.sender"].wake()
    log.info("link recovery on webinar %s: %d link(s) mailed", webinar_id, len(regs))
    return len(regs)
