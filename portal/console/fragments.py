"""Server-rendered console regions, as the page includes them and as pushes swap them.

Pushed variants are rendered once per language (`data-lang`; console.js keeps the page's).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import render_template
from sqlalchemy import func, or_, select

from portal import health
from portal.attendance import ledger
from portal.attendance.models import Attendance
from portal.core import runs
from portal.core.models import User, Webinar
from portal.extensions import db
from portal.polls import fragments as poll_fragments
from portal.qa import fragments as qa_fragments
from portal.reactions import fragments as reactions
from portal.registration.models import Registration
from portal.room import chat, cohorts
from portal.room import fragments as room_fragments
from portal.room.models import ChatMessage

CONSOLE_REGIONS = ("controls", "cta", "attendees")
ATTENDEE_PAGE_SIZE = 50  # present attendees per page of the console's list
BANNED_LIST_LIMIT = 100  # banned leads listed (newest first; a search finds the others)
SEARCH_MAX = 100  # characters of a search kept


@dataclass(frozen=True)
class AttendeeView:
    """What the attendee region shows: a search (name or email) and a page of it. Pushes
    render the plain first page; a console showing another view re-asks for its own."""

    q: str = ""
    page: int = 1

    @classmethod
    def from_args(cls, q: object = "", page: object = 1) -> AttendeeView:
        try:
            number = int(str(page or 1))
        except ValueError:
            number = 1
        return cls(" ".join(str(q or "").split())[:SEARCH_MAX], max(number, 1))

    @property
    def filtered(self) -> bool:
        return bool(self.q) or self.page > 1


def region(name: str, webinar: Webinar, *, oob: bool = False, lang: str | None = None,
           view: AttendeeView | None = None) -> str:
    """One console region (see CONSOLE_REGIONS); `view` only matters to the attendee list."""
    # Only the attendee list reads the attendance queries: a CTA toggle's push (twice, one per
    # language) ran them over every open attendance row of the room (issue 14's profile).
    parts = context(webinar, view=view) if name == "attendees" else _webinar_context(webinar, runs_too=name != "cta")
    return render_template(f"console/_{name}.html", **parts, oob=oob, lang=lang)


def _webinar_context(webinar: Webinar, *, runs_too: bool = True) -> dict[str, Any]:
    """What the controls and CTA regions read: the webinar and (controls) its start times."""
    several = runs_too and runs.has_runs(webinar)
    return {
        "webinar": webinar,
        "status": webinar.status,
        # Several start times: the one running (or that ran last) and those left to start.
        "run_starts_at": webinar.run_starts_at if several else None,
        "runs_left": runs.remaining(webinar) if several else [],
        "several_times": several and len(runs.start_times(webinar)) > 1,
    }


def context(webinar: Webinar, *, view: AttendeeView | None = None) -> dict[str, Any]:
    """Everything the console's regions read (the page renders them all)."""
    view = view or AttendeeView()
    present = present_attendees(webinar.webinar_id, q=view.q, page=view.page)
    return {
        **_webinar_context(webinar),
        "count": ledger.present_count(webinar.webinar_id),
        "view": view,
        "attendees": present.items,
        "present": present,
        "banned": banned_leads(webinar.webinar_id, q=view.q),
        "muted": muted_leads(webinar.webinar_id),
    }


def cohort_choices(webinar: Webinar) -> list[dict[str, Any]]:
    """The runs or auto cohorts a console may watch: session id, start, and for a watch-now
    viewer their name."""
    groups = cohorts.all_of(webinar)
    alone = [c.registration_id for c in groups if c.registration_id is not None]
    names = dict(db.session.execute(
        select(Registration.registration_id, User.display_name).join(User, User.user_id == Registration.lead_id)
        .where(Registration.registration_id.in_(alone))).all()) if alone else {}
    return [{"session_id": c.session_id, "starts_at": c.starts_at, "watch_now": c.watch_now,
             "name": names.get(c.registration_id, "")} for c in groups]


def message_items(messages: list[ChatMessage], *, muted: set[int] | None = None, lang: str | None = None) -> str:
    """Chat messages with their moderation buttons as <li id="msg-N"> items."""
    return "".join(render_template("console/_message.html", m=m, muted=muted or set(), lang=lang)
                   for m in messages)


def messages_oob(items: str) -> str:
    """Items appended to the chat list (the room's list markup: console.js merges by id)."""
    return room_fragments.messages_oob(items)


def messages(webinar_id: int, found: list[ChatMessage]) -> str:
    """`found` appended to the console's chat list (oob)."""
    return room_fragments.messages_oob(message_items(found, muted=muted_leads(webinar_id)))


@dataclass(frozen=True)
class AttendeePage:
    items: list[dict[str, Any]]
    total: int  # present leads matching the search
    page: int
    pages: int


def _matching(query: Any, q: str) -> Any:
    """Rows whose lead's name or email contains `q` (case-insensitive; % and _ are literal)."""
    if not q:
        return query
    pattern = "%" + q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return query.where(or_(func.lower(User.display_name).like(pattern, escape="\\"),
                           func.lower(User.email).like(pattern, escape="\\")))


def present_attendees(webinar_id: int, *, q: str = "", page: int = 1, size: int | None = None) -> AttendeePage:
    """Leads with an open attendance row (name, since when, how many tabs), those matching
    `q`, one page of them in the order they entered."""
    size = size or ATTENDEE_PAGE_SIZE
    open_rows = (Attendance.webinar_id == webinar_id, Attendance.left_at.is_(None))
    total = db.session.scalar(_matching(
        select(func.count(func.distinct(Attendance.lead_id))).select_from(Attendance)
        .join(User, User.user_id == Attendance.lead_id).where(*open_rows), q)) or 0
    pages = max(1, -(-total // size))
    page = min(max(page, 1), pages)
    since = func.min(Attendance.entered_at)
    rows = db.session.execute(_matching(
        select(Attendance.lead_id, since, func.count(), User.display_name, User.email)
        .join(User, User.user_id == Attendance.lead_id).where(*open_rows), q)
        .group_by(Attendance.lead_id, User.display_name, User.email)
        .order_by(since, Attendance.lead_id).offset((page - 1) * size).limit(size)
    ).all()
    items = [{"lead_id": lead_id, "name": name, "email": email, "since": entered_at, "tabs": tabs}
             for lead_id, entered_at, tabs, name, email in rows]
    return AttendeePage(items, total, page, pages)


def banned_leads(webinar_id: int, *, q: str = "", limit: int = BANNED_LIST_LIMIT) -> list[dict[str, Any]]:
    """Leads banned from this webinar (matching `q`), newest ban first, so they can be unbanned."""
    banned_at = func.max(Registration.banned_at)
    rows = db.session.execute(_matching(
        select(Registration.lead_id, banned_at, User.display_name, User.email)
        .join(User, User.user_id == Registration.lead_id)
        .where(Registration.webinar_id == webinar_id, Registration.banned_at.is_not(None)), q)
        .group_by(Registration.lead_id, User.display_name, User.email)
        .order_by(banned_at.desc(), Registration.lead_id).limit(limit)
    ).all()
    return [{"lead_id": lead_id, "banned_at": at, "name": name, "email": email} for lead_id, at, name, email in rows]


def muted_leads(webinar_id: int) -> set[int]:
    return set(db.session.scalars(
        select(Registration.lead_id).where(Registration.webinar_id == webinar_id,
                                           Registration.chat_muted_at.is_not(None))
    ))


def snapshot(user: User, webinar: Webinar, *, since_message_id: int = 0, cohort: str | None = None) -> str:
    """Catch-up for one staff member: every console region (oob), every chat message of the
    watched cohort after the id, the Q&A queue and the polls."""
    since = max(int(since_message_id or 0), 0)
    parts = [region(name, webinar, oob=True) for name in CONSOLE_REGIONS]
    parts += [health.panel_html(webinar.webinar_id, oob=True), reactions.console(webinar.webinar_id, oob=True)]
    watching = cohorts.watched(webinar, cohort)
    session_id = watching.session_id if watching is not None else None
    # Every message since the console's last one, however many, read in bounded chunks.
    muted = muted_leads(webinar.webinar_id)
    items = "".join(message_items(chunk, muted=muted) for chunk in chat.messages_after(
        webinar.webinar_id, viewer_lead_id=None, after_id=since, staff=True, session_id=session_id))
    parts.append(messages_oob(items))
    parts.append(qa_fragments.console_region(webinar, oob=True))
    parts.append(poll_fragments.console_region(webinar, oob=True))
    return "".join(parts)
