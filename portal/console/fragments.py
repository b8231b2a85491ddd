"""Server-rendered console regions, as the page includes them and as pushes swap them.

Pushed variants are rendered once per language (`data-lang`; console.js keeps the page's).
"""
from __future__ import annotations

from typing import Any

from flask import render_template
from sqlalchemy import select

from portal.attendance import ledger
from portal.attendance.models import Attendance
from portal.core.models import User, Webinar
from portal.extensions import db
from portal.registration.models import Registration
from portal.room import chat
from portal.room import fragments as room_fragments
from portal.room.models import ChatMessage

CONSOLE_REGIONS = ("controls", "cta", "attendees")
ATTENDEE_LIST_LIMIT = 100


def region(name: str, webinar: Webinar, *, oob: bool = False, lang: str | None = None) -> str:
    """One console region (see CONSOLE_REGIONS)."""
    return render_template(f"console/_{name}.html", **context(webinar), oob=oob, lang=lang)


def context(webinar: Webinar) -> dict[str, Any]:
    return {
        "webinar": webinar,
        "status": webinar.status,
        "count": ledger.present_count(webinar.webinar_id),
        "attendees": present_attendees(webinar.webinar_id),
        "muted": muted_leads(webinar.webinar_id),
    }


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


def present_attendees(webinar_id: int, *, limit: int = ATTENDEE_LIST_LIMIT) -> list[dict[str, Any]]:
    """Leads with an open attendance row: name, since when, how many tabs."""
    rows = db.session.execute(
        select(Attendance.lead_id, Attendance.entered_at, User.display_name, User.email)
        .join(User, User.user_id == Attendance.lead_id)
        .where(Attendance.webinar_id == webinar_id, Attendance.left_at.is_(None))
        .order_by(Attendance.entered_at)
    ).all()
    leads: dict[int, dict[str, Any]] = {}
    for lead_id, entered_at, name, email in rows:
        item = leads.setdefault(lead_id, {"lead_id": lead_id, "name": name, "email": email,
                                          "since": entered_at, "tabs": 0})
        item["tabs"] += 1
    return list(leads.values())[:limit]


def muted_leads(webinar_id: int) -> set[int]:
    return set(db.session.scalars(
        select(Registration.lead_id).where(Registration.webinar_id == webinar_id,
                                           Registration.chat_muted_at.is_not(None))
    ))


def snapshot(user: User, webinar: Webinar, *, since_message_id: int = 0) -> str:
    """Catch-up for one staff member: every console region (oob) + every chat message after the id."""
    since = max(int(since_message_id or 0), 0)
    parts = [region(name, webinar, oob=True) for name in CONSOLE_REGIONS]
    # Every message since the console's last one, however many, read in bounded chunks.
    muted = muted_leads(webinar.webinar_id)
    items = "".join(message_items(chunk, muted=muted) for chunk in
                    chat.messages_after(webinar.webinar_id, viewer_lead_id=None, after_id=since, staff=True))
    parts.append(messages_oob(items))
    return "".join(parts)
