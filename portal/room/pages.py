"""What the room page renders for one attendee."""
from __future__ import annotations

from typing import Any

from flask import url_for

from portal.core.models import WebinarType
from portal.registration.models import Registration
from portal.room import chat, fragments


def room_page_context(reg: Registration, *, token: str) -> dict[str, Any]:
    """Template context of /room/<token>: every region, the chat history, the socket URLs."""
    webinar = reg.webinar
    context = fragments.room_context(webinar, reg=reg, token=token, page=True)
    context.update(
        reg=reg,
        token=token,
        speakers=[s.display_name for s in webinar.speakers],
        messages=chat.messages_for(webinar.webinar_id, viewer_lead_id=reg.lead_id)
        if webinar.has_internal_chat else [],
        ws_url=f"/ws/room/{token}",
        state_url=url_for("room.page", token=token) + "/state",
        channel_audience="room",
    )
    if webinar.type == WebinarType.auto.value:
        context.update(_auto_context(reg))
    return context


def _auto_context(reg: Registration) -> dict[str, Any]:
    """AutoWebinar's player context (its module may not be installed yet)."""
    try:
        from portal.autowebinar import room as auto_room
    except ImportError:
        return {}
    return dict(auto_room.context(reg, reg.webinar))
