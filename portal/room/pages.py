"""What the room page renders for one attendee."""
from __future__ import annotations

from typing import Any

from flask import url_for

from portal import realtime
from portal.registration.models import Registration
from portal.room import chat, cohorts, fragments, panels
from portal.room.kinds import kind_of


def room_page_context(reg: Registration, *, token: str) -> dict[str, Any]:
    """Template context of /room/<token>: every region, the chat history, the socket URLs,
    what the webinar's type adds (its stage, e.g. the auto player) and the registered panels."""
    webinar = reg.webinar
    kind = kind_of(webinar)
    cohort = cohorts.of(reg)
    context = fragments.room_context(webinar, reg=reg, token=token, page=True, cohort=cohort)
    context.update(
        reg=reg,
        token=token,
        speakers=[s.display_name for s in webinar.speakers],
        messages=chat.messages_for(webinar.webinar_id, viewer_lead_id=reg.lead_id, session_id=cohort.session_id)
        if webinar.has_internal_chat else [],
        ws_url=realtime.url("room.socket", token=token),
        # ?c= names the cohort's channel, so a poll's 304 needs no database (never trusted for data).
        state_url=url_for("room.state", token=token, c=cohort.channel_key or None),
        stage_template=kind.stage_template,
        room_panels=panels.page_panels(reg, webinar, token=token),
    )
    if kind.page_context is not None:
        context.update(kind.page_context(reg, webinar))
    return context
