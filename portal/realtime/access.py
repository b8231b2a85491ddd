"""Who may open which socket or state fragment: Origin, join token, staff permission."""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit


from portal.core.models import User, Webinar
from portal.core.permissions import Action, can
from portal.errors import N_, Forbidden, NotFound
from portal.extensions import db
from portal.realtime.channels import console_channel, room_channel
from portal.registration import tokens
from portal.registration.models import Registration


@dataclass(frozen=True)
class Access:
    """An accepted socket's identity, fixed at connect time (ids only: the socket outlives sessions)."""

    audience: str  # "room" | "console"
    webinar_id: int
    channel: str
    registration_id: int | None = None
    lead_id: int | None = None
    user_id: int | None = None


def origin_allowed(origin: str | None, *, host: str, base_url: str = "") -> bool:
    """Same-host check against cross-site socket hijacking: the page's origin must be this host."""
    if not origin or origin == "null":
        return False
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return False
    allowed = {host.lower()}
    if base_url:
        allowed.add(urlsplit(base_url).netloc.lower())
    return parts.netloc.lower() in allowed


def require_origin(origin: str | None, *, host: str, base_url: str = "") -> None:
    if not origin_allowed(origin, host=host, base_url=base_url):
        raise Forbidden(N_("This page may not open a live connection here."), details={"origin": origin or ""})


def room(token: str) -> tuple[Registration, Webinar]:
    """The registration and webinar a join token opens; one 404 whatever went wrong."""
    reg = tokens.find_registration(token)
    webinar = reg.webinar if reg is not None else None
    if reg is None or webinar is None or not can(reg, Action.ENTER_ROOM, webinar):
        raise NotFound(N_("This join link is not valid."))
    return reg, webinar


def console(user: User | None, webinar_id: int) -> Webinar:
    """The webinar whose console `user` may open (404 unknown, 403 not theirs)."""
    webinar = db.session.get(Webinar, webinar_id)
    if webinar is None:
        raise NotFound(N_("This webinar does not exist."))
    if not can(user, Action.OPEN_CONSOLE, webinar):
        raise Forbidden(N_("You may not open this console."))
    return webinar


def room_access(reg: Registration, webinar: Webinar) -> Access:
    return Access("room", webinar.webinar_id, room_channel(webinar.webinar_id),
                  registration_id=reg.registration_id, lead_id=reg.lead_id)


def console_access(user: User, webinar: Webinar) -> Access:
    return Access("console", webinar.webinar_id, console_channel(webinar.webinar_id), user_id=user.user_id)
