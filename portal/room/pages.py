"""What the room page renders for one attendee."""
from __future__ import annotations

from typing import Any

from flask import url_for

from portal import realtime
from portal.registration.models import Registration
from portal.room import chat, fragments, panels
from portal.room.kinds import kind_of


def room_page_context(reg: Registration, *, token: str) -> dict[str, Any]:
    """Template context of /room/<token>: every region, the chat history, the socket URLs,
    and what the webinar's type adds (its stage, e.g. the auto player)."""
    webinar = reg.webinar
    kind = kind_of(webinar)
    context = fragments.room_context(webinar, reg=reg, token=token, page=True)
    context.update(
        reg=reg,
        token=token,
        speakers=[s.display_name for s in webinar.speakers],
        messages=chat.messages_for(webinar.webinar_id, viewer_lead_id=reg.lead_id)
        if webinar.has_internal_chat else [],
        ws_url=realtime.url("room.socket", token=token),
        state_url=url_for("room.state", token=token),
        stage_template=kind.stage_template,
    )
    if kind.page_context is not None:
        context.update(kind.page_context(reg, webinar))
    shown = panels.registered()
    for panel in shown:
        context.update(panel.page_context(reg, webinar))
    context["panel_templates"] = [panel.template for panel in shown]
    return context
