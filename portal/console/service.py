"""The console's one loader and its page context (views stay thin)."""
from __future__ import annotations

from typing import Any

from flask import url_for

from portal import realtime
from portal.console import fragments
from portal.core.models import User, Webinar
from portal.core.permissions import Action, require
from portal.errors import N_, NotFound
from portal.extensions import db
from portal.room import chat, links
from portal.room.models import ChatMessage


def console_or_404(user: Any, webinar_id: int) -> Webinar:
    """The webinar whose console `user` may open: 404 unknown, 403 not theirs (or signed out)."""
    webinar = db.session.get(Webinar, webinar_id)
    if webinar is None:
        raise NotFound(N_("This webinar does not exist."))
    require(user if isinstance(user, User) else None, Action.OPEN_CONSOLE, webinar)
    return webinar


def page_context(webinar: Webinar) -> dict[str, Any]:
    """Every console region, the chat (all messages, moderation state) and the socket URLs."""
    context = fragments.context(webinar)
    context.update(
        messages=chat.messages_for(webinar.webinar_id, viewer_lead_id=None, staff=True),
        ws_url=realtime.url("console.socket", webinar_id=webinar.webinar_id),
        state_url=url_for("console.state", webinar_id=webinar.webinar_id),
        speakers=[s.display_name for s in webinar.speakers],
        chat_link=links.safe_link(webinar.external_chat_ref),
    )
    return context


def post_message(user: User, webinar: Webinar, body: object) -> ChatMessage:
    """A host's chat message (HTTP path; the socket path uses the same chat function)."""
    return chat.post_as_staff(user, webinar, body)
