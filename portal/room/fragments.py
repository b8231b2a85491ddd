"""Server-rendered room regions, as the page includes them and as pushes swap them.

Each region is one partial whose root owns its id. Pushes are rendered once per channel and
language (`push.per_language` adds a `data-lang` per variant; room.js keeps the variant of
the page's language), never per socket. `snapshot()` is the per-viewer catch-up sent after a
(re)connect and by the polling fallback. The console renders its own regions
(portal.console.fragments).
"""
from __future__ import annotations

import zlib
from datetime import datetime
from typing import Any

from flask import render_template

from portal.attendance import ledger as attendance
from portal.core import runs
from portal.core.models import CtaVisibility, Status, Webinar
from portal.db_types import utcnow
from portal.registration.models import Registration
from portal.room import chat, cohorts, links, panels
from portal.room.kinds import ROOM_REGIONS, kind_of
from portal.room.models import ChatMessage


def room_regions(webinar: Webinar, wanted: tuple[str, ...] = ROOM_REGIONS) -> tuple[str, ...]:
    """The regions of `wanted` that this webinar's room page has (its type's RoomKind)."""
    has = kind_of(webinar).regions
    return tuple(name for name in wanted if name in has)


def room_region(name: str, webinar: Webinar, *, count: int | None = None, oob: bool = False,
                lang: str | None = None, reg: Registration | None = None, token: str | None = None,
                cohort: cohorts.Cohort | None = None) -> str:
    """One room region (see ROOM_REGIONS), as the viewers of `cohort` (or `reg`'s) see it."""
    context = room_context(webinar, count=count, reg=reg, token=token, cohort=cohort)
    return render_template(f"room/_{name}.html", **context, oob=oob, lang=lang)


def room_context(webinar: Webinar, *, count: int | None = None, reg: Registration | None = None,
                 token: str | None = None, now: datetime | None = None, page: bool = False,
                 cohort: cohorts.Cohort | None = None) -> dict[str, Any]:
    """What the room partials read. `reg`/`token` only for per-viewer renders (page, snapshot);
    `cohort` (default `reg`'s): whose start time the status, countdown and lobby follow;
    `page`: the first render, where an auto room's CTA also depends on the viewer's position."""
    now = now or utcnow()
    if cohort is None and reg is not None:
        cohort = cohorts.of(reg)
    starts_at = cohort.starts_at if cohort is not None and cohort.starts_at else webinar.scheduled_at
    status = runs.status_for(webinar, starts_at)
    return {
        "webinar": webinar,
        "status": status,
        "starts_at": starts_at,
        "count": attendance.present_count(webinar.webinar_id) if count is None else count,
        "cta_visible": cta_visible(webinar, reg if page else None) and runs.shows_cta(webinar, starts_at),
        "chat_state": chat.chat_state(webinar, now=now, starts_at=starts_at),
        "lobby_opens_at": chat.lobby_opens_at(webinar, starts_at),
        "now": now,
        "reg": reg,
        "token": token,
        "stage_key": stage_key(webinar, status=status, starts_at=starts_at),
        "stream_link": links.safe_link(webinar.stream_url),
        "chat_link": links.safe_link(webinar.external_chat_ref),
    }


def cta_visible(webinar: Webinar, reg: Registration | None = None) -> bool:
    """Core says visible (and there is a link); for a given viewer, also the per-viewer rule of
    the webinar's type (auto: the viewer's position reached cta_at_sec)."""
    if webinar.cta_visibility != CtaVisibility.visible.value or not webinar.cta_url:
        return False
    if reg is not None and not runs.shows_cta(webinar, cohorts.of(reg).starts_at):
        return False  # another start time's registrant: the offer belongs to the running time
    rule = kind_of(webinar).cta_visible
    if rule is not None and reg is not None:
        return rule(reg, webinar)
    return webinar.status not in (Status.draft.value,)


def stage_key(webinar: Webinar, *, status: str | None = None, starts_at: datetime | None = None) -> str:
    """Identifies what the stage shows, so an identical re-send does not restart the player."""
    status = status or webinar.status
    starts_at = starts_at or webinar.scheduled_at
    if status == Status.scheduled.value:
        return f"scheduled:{starts_at.isoformat() if starts_at else ''}"
    if status == Status.live.value:
        return f"live:{webinar.stream_type}:{zlib.crc32(webinar.stream_url.encode()):08x}"
    return status


def message_items(messages: list[ChatMessage]) -> str:
    """Chat messages as <li id="msg-N"> items (language-neutral)."""
    return "".join(render_template("room/_message.html", m=m) for m in messages)


def messages_oob(items: str, *, removed: list[int] = ()) -> str:
    """Append items to #chat-list; `removed` ids become tombstones (room.js merges by id)."""
    if not items and not removed:
        return ""
    return render_template("room/_messages_oob.html", items=items, removed=list(removed))


def snapshot(reg: Registration, webinar: Webinar, *, since_message_id: int = 0) -> str:
    """Catch-up for one attendee: every room region (oob), every chat message after the id and
    the registered panels' regions."""
    since = max(int(since_message_id or 0), 0)
    count = attendance.present_count(webinar.webinar_id)
    cohort = cohorts.of(reg)
    parts = [room_region(name, webinar, count=count, oob=True, reg=reg, cohort=cohort)
             for name in room_regions(webinar)]
    if webinar.has_internal_chat:
        # Every message of the cohort since the page's last one, however many, in bounded chunks.
        items = "".join(message_items(chunk) for chunk in chat.messages_after(
            webinar.webinar_id, viewer_lead_id=reg.lead_id, after_id=since, session_id=cohort.session_id))
        removed = chat.hidden_ids(webinar.webinar_id, up_to=since) if since else []
        parts.append(messages_oob(items, removed=removed))
    if reg is not None:
        parts.append(panels.snapshot(reg, webinar))
    return "".join(parts)
