"""The waiting list's mail (issue 12, point 7): when a seat frees up, the first person waiting
for that start time gets one "a seat is free" mail, queued in the transaction that freed it."""
from __future__ import annotations

import logging
from typing import Any

from flask import Flask
from sqlalchemy import select

from portal import mail, signals
from portal.extensions import db
from portal.mail.ledger import base_url
from portal.mail.models import MailMessage
from portal.registration import seats
from portal.registration.models import Registration

log = logging.getLogger(__name__)

KIND = "seat_available"
OCCURRENCE = "waitlist"  # one per registration, ever: the ledger's key makes it "one mail each"


def on_seat_freed(reg: Registration, **_: Any) -> None:
    """Tell the longest-waiting person of `reg`'s start time who has not been told yet."""
    told = set(db.session.scalars(select(MailMessage.registration_id).where(
        MailMessage.webinar_id == reg.webinar_id, MailMessage.kind == KIND)))
    first = seats.first_waiting(reg.webinar, slot_id=reg.slot_id, starts_at=reg.starts_at, skip=told)
    if first is None:
        return
    # The registration page, not a join link: the seat goes to whoever registers first.
    mail.queue(first, KIND, occurrence=OCCURRENCE,
               context={"register_url": f"{base_url()}/w/{first.webinar.slug}"})
    log.info("webinar %s: a seat freed, registration %s on the waiting list told", reg.webinar_id,
             first.registration_id)


def init_app(app: Flask) -> None:
    signals.connect(app, signals.seat_freed, on_seat_freed)
