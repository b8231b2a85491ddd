"""The console's one loader and its page context (views stay thin)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from flask import current_app, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import or_, select

from portal import realtime, timefmt
from portal.console import fragments
from portal.core import lifecycle, runs
from portal.core.models import Role, Status, User, Webinar, WebinarSlot, WebinarSpeaker, WebinarType
from portal.core.permissions import Action, can, require
from portal.db_types import utcnow
from portal.errors import N_, Forbidden, Invalid, NotFound
from portal.extensions import db
from portal.polls import fragments as poll_fragments
from portal.qa import fragments as qa_fragments
from portal.room import chat, cohorts, links
from portal.room.models import ChatMessage


def console_or_404(user: Any, webinar_id: int) -> Webinar:
    """The webinar whose console `user` may open: 404 unknown, 403 not theirs (or signed out)."""
    webinar = db.session.get(Webinar, webinar_id)
    if webinar is None:
        raise NotFound(N_("This webinar does not exist."))
    require(user if isinstance(user, User) else None, Action.OPEN_CONSOLE, webinar)
    return webinar


MY_WEBINARS_LIMIT = 200
STAFF_ROLES = (Role.speaker.value, Role.organizer.value, Role.admin.value)
# Live first, then what is coming, then drafts, then what has ended.
_STATUS_ORDER = {Status.live.value: 0, Status.paused.value: 0, Status.scheduled.value: 1, Status.draft.value: 2,
                 Status.finished.value: 3}


@dataclass(frozen=True)
class MyWebinar:
    """One line of "My webinars": the webinar, its next start (None: evergreen or not set),
    whether the user speaks at it."""

    webinar: Webinar
    next_start: datetime | None
    speaking: bool


def require_staff(user: Any) -> None:
    """Only staff accounts (speakers, organizers, admins) have consoles."""
    if not isinstance(user, User) or user.role not in STAFF_ROLES or user.is_disabled:
        raise Forbidden(N_("Only speakers, organizers and admins have consoles."))


def staff_nav() -> list[dict[str, str]]:
    """The top bar's links for the signed-in user: only pages their role may open
    ("Dashboard" for those who may create webinars, "My webinars" for every staff member)."""
    user = current_user._get_current_object() if current_user else None  # type: ignore[attr-defined]
    if not isinstance(user, User) or user.role not in STAFF_ROLES or user.is_disabled:
        return []
    links = []
    if can(user, Action.CREATE) and "admin.dashboard" in current_app.view_functions:
        links.append({"url": url_for("admin.dashboard"), "label": _("Dashboard"), "testid": "nav-dashboard"})
    links.append({"url": url_for("console.mine"), "label": _("My webinars"), "testid": "nav-my-webinars"})
    return links


def my_webinars(user: User, *, now: datetime | None = None) -> list[MyWebinar]:
    """The webinars whose console `user` may open (speaker: where they speak; organizer: also
    their own; admin: all), archived ones left out, live first, then by next start."""
    now = now or utcnow()
    query = select(Webinar).where(Webinar.status != Status.archived.value)
    spoken = select(WebinarSpeaker.webinar_id).where(WebinarSpeaker.user_id == user.user_id)
    if user.role == Role.organizer.value:
        query = query.where(or_(Webinar.owner_user_id == user.user_id, Webinar.webinar_id.in_(spoken)))
    elif user.role != Role.admin.value:
        query = query.where(Webinar.webinar_id.in_(spoken))
    webinars = db.session.scalars(query.order_by(Webinar.webinar_id.desc()).limit(MY_WEBINARS_LIMIT)).all()
    speaking = set(db.session.scalars(spoken))
    items = [MyWebinar(w, next_start(w, now=now), w.webinar_id in speaking)
             for w in webinars if can(user, Action.OPEN_CONSOLE, w)]
    far = datetime.max.replace(tzinfo=now.tzinfo)
    items.sort(key=lambda i: (_STATUS_ORDER.get(i.webinar.status, 4), i.next_start or far, i.webinar.title))
    return items


def next_start(webinar: Webinar, *, now: datetime) -> datetime | None:
    """A live webinar's next start time (its main time or a later extra one not yet past);
    the last one when all are past; None for evergreen (auto) webinars or no time set."""
    if webinar.type == WebinarType.auto.value:
        return None
    times = [t for t in [webinar.scheduled_at, *db.session.scalars(
        select(WebinarSlot.starts_at).where(WebinarSlot.webinar_id == webinar.webinar_id))] if t is not None]
    if not times:
        return None
    coming = [t for t in times if t >= now]
    return min(coming) if coming else max(times)


def page_context(webinar: Webinar, *, view: fragments.AttendeeView | None = None,
                 cohort: str | None = None) -> dict[str, Any]:
    """Every console region (the attendee list as `view` asks), the chat of the watched cohort
    (run or auto cohort, all moderation state), the cohorts to pick from, the Q&A queue, the
    polls and the socket URLs."""
    context = fragments.context(webinar, view=view)
    watching = cohorts.watched(webinar, cohort)
    session_id = watching.session_id if watching is not None else None
    query = {"cohort": session_id} if watching is not None and watching.channel_key else {}
    context.update(
        messages=chat.messages_for(webinar.webinar_id, viewer_lead_id=None, staff=True, session_id=session_id),
        cohorts=fragments.cohort_choices(webinar),
        running_session=runs.current_session_id(webinar) if webinar.status in runs.RUNNING else None,
        watching=watching,
        # realtime.url keeps the path only: the cohort rides in the query the admission reads.
        ws_url=realtime.url("console.socket", webinar_id=webinar.webinar_id)
        + (f"?{urlencode(query)}" if query else ""),
        state_url=url_for("console.state", webinar_id=webinar.webinar_id, **query),
        speakers=[s.display_name for s in webinar.speakers],
        chat_link=links.safe_link(webinar.external_chat_ref),
        qa=qa_fragments.console_context(webinar),
    )
    context.update(poll_fragments.console_context(webinar))
    return context


def post_message(user: User, webinar: Webinar, body: object, *, cohort: str | None = None) -> ChatMessage:
    """A host's chat message to the cohort the console watches (HTTP path; the socket path
    uses the same chat function)."""
    watching = cohorts.watched(webinar, cohort)
    return chat.post_as_staff(user, webinar, body, session_id=watching.session_id if watching else None)


def started_run(webinar: Webinar, outcome: lifecycle.Outcome) -> str | None:
    """The session of the run a start just began, when the webinar has several start times
    (the console then moves to that run's chat); None otherwise."""
    if outcome.changed and outcome.after == Status.live.value and outcome.before == Status.scheduled.value \
            and len(runs.start_times(webinar)) > 1:
        return runs.current_session_id(webinar)
    return None


def start_time_of(webinar: Webinar, value: str | None) -> datetime | None:
    """The start time the console's start button names (ISO-8601 UTC); None: Core's next one."""
    if not value:
        return None
    for at in runs.remaining(webinar):
        if timefmt.iso_utc(at) == value:
            return at
    raise Invalid("That start time has already run or is not one of this webinar's times.")
