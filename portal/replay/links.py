"""Links to a replay, for the ended screen, the registration page and the thank-you mail."""
from __future__ import annotations

from flask import current_app, url_for

from portal.core.models import Webinar
from portal.mail import ledger
from portal.replay import service


def replay_url(webinar: Webinar, token: str | None, *, external: bool = False) -> str | None:
    """The registrant's replay URL (None while there is no replay or no token to open it)."""
    if not token or service.run_of(webinar) is None:
        return None
    return url_for("replay.page", token=token, _external=external)


def public_replay_url(webinar: Webinar) -> str | None:
    """The public replay URL, when the organizer lets anyone with the registration page watch."""
    return url_for("replay.public_page", slug=webinar.slug) if service.has_public(webinar) else None


def mail_replay_url(webinar: Webinar, token: str) -> str | None:
    """For mail, without a request: a registrant's absolute replay URL from the join token the
    mail ledger keeps (portal.mail.reminders.current_tokens); None while there is no replay."""
    if not token or service.run_of(webinar) is None:
        return None
    return ledger.base_url() + current_app.url_map.bind("localhost").build("replay.page", {"token": token})


def mail_replay_link(webinar: Webinar) -> str | None:
    """For the thank-you mail (portal.mail.reminders' replay hook, run by a background job, so
    no request): the public replay's absolute URL. Registrants' own replay is one click from
    the ended screen their join link opens (join tokens are hashed, so a per-registrant replay
    URL cannot be built here)."""
    if not service.has_public(webinar):
        return None
    path = current_app.url_map.bind("localhost").build("replay.public_page", {"slug": webinar.slug})
    return ledger.base_url() + path
