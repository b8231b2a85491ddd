"""Server-rendered room and console regions, as pages include them and as pushes swap them.

Each region is one partial whose root owns its id. Pushes are rendered once per channel and
language (`broadcast` adds a `data-lang` per variant; room.js/console.js keep the variant of
the page's language), never per socket. `snapshot()` is the per-viewer catch-up used by the
realtime layer after a reconnect and by the polling fallback.
"""
from __future__ import annotations

import zlib
from datetime import datetime
from typing import Any

from flask import render_template
from sqlalchemy import select

from portal.core.models import CtaVisibility, Status, User, Webinar, WebinarType
from portal.db_types import utcnow
from portal.extensions import db
from portal.registration.models import Registration
from portal.room import attendance, chat, links
from portal.room.models import Attendance, ChatMessage

ROOM_REGIONS = ("status", "stage", "cta", "count", "compose")
# Auto rooms: AutoWebinar's player owns the stage. Pushed CTA regions carry Core's visibility;
# autowebinar.js adds the per-viewer timing (cta_at_sec) on the page.
AUTO_ROOM_REGIONS = ("status", "cta", "compose")
CONSOLE_REGIONS = ("controls", "cta", "attendees")
ATTENDEE_LIST_LIMIT = 100


def room_regions(webinar: Webinar, wanted: tuple[str, ...] = ROOM_REGIONS) -> tuple[str, ...]:
    """The regions of `wanted` that this webinar's room page has."""
    if webinar.type == WebinarType.auto.value:
        return tuple(name for name in wanted if name in AUTO_ROOM_REGIONS)
    return wanted


def room_region(name: str, webinar: Webinar, *, count: int | None = None, oob: bool = False,
                lang: str | None = None, reg: Registration | None = None, token: str | None = None) -> str:
    """One room region (see ROOM_REGIONS)."""
    return render_template(f"room/_{name}.html", **room_context(webinar, count=count, reg=reg, token=token),
                           oob=oob, lang=lang)


def room_context(webinar: Webinar, *, count: int | None = None, reg: Registration | None = None,
                 token: str | None = None, now: datetime | None = None, page: bool = False) -> dict[str, Any]:
    """What the room partials read. `reg`/`token` only for per-viewer renders (page, snapshot);
    `page`: the first render, where an auto room's CTA also depends on the viewer's position."""
    now = now or utcnow()
    return {
        "webinar": webinar,
        "status": webinar.status,
        "count": attendance.present_count(webinar.webinar_id) if count is None else count,
        "cta_visible": cta_visible(webinar, reg if page else None),
        "chat_state": chat.chat_state(webinar, now=now),
        "lobby_opens_at": chat.lobby_opens_at(webinar),
        "now": now,
        "reg": reg,
        "token": token,
        "stage_key": stage_key(webinar),
        "stream_link": links.safe_link(webinar.stream_url),
        "chat_link": links.safe_link(webinar.external_chat_ref),
    }


def cta_visible(webinar: Webinar, reg: Registration | None = None) -> bool:
    """Core says visible (and there is a link); for an auto webinar and a given viewer, also
    the viewer's position reached cta_at_sec (AutoWebinar's rule)."""
    if webinar.cta_visibility != CtaVisibility.visible.value or not webinar.cta_url:
        return False
    if webinar.type == WebinarType.auto.value and reg is not None:
        return _auto_cta_visible(reg, webinar)
    return webinar.status not in (Status.draft.value,)


def stage_key(webinar: Webinar) -> str:
    """Identifies what the stage shows, so an identical re-send does not restart the player."""
    if webinar.status == Status.scheduled.value:
        return f"scheduled:{webinar.scheduled_at.isoformat() if webinar.scheduled_at else ''}"
    if webinar.status == Status.live.value:
        return f"live:{webinar.stream_type}:{zlib.crc32(webinar.stream_url.encode()):08x}"
    return webinar.status


def message_items(messages: list[ChatMessage], *, audience: str = "room",
                  muted: set[int] | None = None, lang: str | None = None) -> str:
    """Chat messages as <li id="msg-N"> items: the room's are language-neutral, the
    console's (with moderation buttons) carry `data-lang` when pushed."""
    if not messages:
        return ""
    template = "console/_message.html" if audience == "console" else "room/_message.html"
    return "".join(render_template(template, m=m, muted=muted or set(), lang=lang) for m in messages)


def messages_oob(items: str, *, removed: list[int] = ()) -> str:
    """Append items to #chat-list; `removed` ids become tombstones (room.js merges by id)."""
    if not items and not removed:
        return ""
    return render_template("room/_messages_oob.html", items=items, removed=list(removed))


def console_region(name: str, webinar: Webinar, *, oob: bool = False, lang: str | None = None) -> str:
    """One console region (see CONSOLE_REGIONS)."""
    return render_template(f"console/_{name}.html", **console_context(webinar), oob=oob, lang=lang)


def console_context(webinar: Webinar) -> dict[str, Any]:
    present = present_attendees(webinar.webinar_id)
    return {
        "webinar": webinar,
        "status": webinar.status,
        "count": attendance.present_count(webinar.webinar_id),
        "attendees": present,
        "muted": muted_leads(webinar.webinar_id),
    }


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


def snapshot(viewer: Registration | User, webinar: Webinar, *, since_message_id: int = 0,
             audience: str = "room") -> str:
    """Catch-up for one viewer: every region of the audience (oob) + chat after the id."""
    since = max(int(since_message_id or 0), 0)
    if audience == "console":
        parts = [console_region(name, webinar, oob=True) for name in CONSOLE_REGIONS]
        new = chat.messages_for(webinar.webinar_id, viewer_lead_id=None, after_id=since, staff=True)
        parts.append(messages_oob(message_items(new, audience="console", muted=muted_leads(webinar.webinar_id))))
        return "".join(parts)
    reg = viewer if isinstance(viewer, Registration) else None
    count = attendance.present_count(webinar.webinar_id)
    parts = [room_region(name, webinar, count=count, oob=True, reg=reg) for name in room_regions(webinar)]
    if webinar.has_internal_chat:
        lead_id = reg.lead_id if reg is not None else None
        new = chat.messages_for(webinar.webinar_id, viewer_lead_id=lead_id, after_id=since)
        removed = chat.hidden_ids(webinar.webinar_id, up_to=since) if since else []
        parts.append(messages_oob(message_items(new), removed=removed))
    return "".join(parts)


def _auto_cta_visible(reg: Registration, webinar: Webinar) -> bool:
    """Auto webinars: AutoWebinar decides from the viewer's position (its runtime module)."""
    try:
        from portal.autowebinar import runtime
    except ImportError:
        return False
    check = getattr(runtime, "cta_visible", None)
    return bool(check(reg, webinar)) if check else False
