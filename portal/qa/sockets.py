"""The Q&A's frame on the room socket: {"type": "qa_vote", "question_id": N, "up": true|false}.

The voter's page gets its list and its pressed buttons back at once on its own socket; every
other page gets the coalesced list push (portal.qa.push)."""
from __future__ import annotations

from typing import Any

from flask import Flask

from portal import realtime
from portal.errors import Forbidden, PortalError, refusal_shown
from portal.extensions import db
from portal.qa import fragments, questions
from portal.realtime import SocketContext
from portal.registration.models import Registration

AUDIENCE = "room"


def init_app(app: Flask) -> None:
    realtime.register_handler(app, "qa_vote", on_vote, audience=AUDIENCE)


def on_vote(ctx: SocketContext, payload: dict[str, Any]) -> None:
    """A vote over the socket; a refusal comes back as the feedback line (nothing stored)."""
    try:
        reg = db.session.get(Registration, ctx.id("registration_id"), populate_existing=True)
        if reg is None:
            raise Forbidden("You can no longer take part in this webinar.")
        questions.vote(reg, payload.get("question_id"), up=payload.get("up") is True)
    except PortalError as error:
        db.session.rollback()
        refusal_shown(error, subject=dict(ctx.admission.ids))  # the audit record
        ctx.send(fragments.feedback(error.translated(), error=True))
        return
    ctx.send(fragments.feedback() + fragments.room_list(reg.webinar, viewer_lead_id=reg.lead_id, oob=True)
             + fragments.votes(reg.webinar, lead_id=reg.lead_id))
