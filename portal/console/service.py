"""Console loading and the few console-only operations (views stay thin)."""
from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

from portal.core.models import User, Webinar
from portal.errors import NotFound
from portal.extensions import db
from portal.room import chat, fragments, links
from portal.room.models import ChatMessage


def webinar_or_404(webinar_id: int) -> Webinar:
    webinar = db.session.get(Webinar, webinar_id)
    if webinar is None:
        raise NotFound(_("This webinar does not exist."))
    return webinar


def page_context(webinar: Webinar) -> dict[str, Any]:
    """Every console region, the chat (all messages, moderation state) and the socket URLs."""
    context = fragments.console_context(webinar)
    context.update(
        messages=chat.messages_for(webinar.webinar_id, viewer_lead_id=None, staff=True),
        ws_url=f"/ws/console/{webinar.webinar_id}",
        state_url=f"/console/{webinar.webinar_id}/state",
        speakers=[s.display_name for s in webinar.speakers],
        chat_link=links.safe_link(webinar.external_chat_ref),
    )
    return context


def post_message(user: User, webinar: Webinar, body: object) -> ChatMessage:
    """A host's chat message (HTTP path; the socket path uses the same chat function)."""
    return chat.post_as_staff(user, webinar, body)
