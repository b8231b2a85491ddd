"""Links to a replay, for the ended screen, the registration page and the thank-you mail."""
from __future__ import annotations

from flask import url_for

from portal.core.models import Webinar
from portal.replay import service


def replay_url(webinar: Webinar, token: str | None, *, external: bool = False) -> str | None:
    """The registrant's replay URL (None while there is no replay or no token to open it)."""
    if not token or service.run_of(webinar) is None:
        return None
    return url_for("replay.page", token=token, _external=external)


def public_replay_url(webinar: Webinar) -> str | None:
    """The public replay URL, when the organizer lets anyone with the registration page watch."""
    return url_for("replay.public_page", slug=webinar.slug) if service.has_public(webinar) else None
