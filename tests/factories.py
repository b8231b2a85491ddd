"""Test factories with keyword defaults. Status and CTA are reached only through Core."""
from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from werkzeug.security import generate_password_hash

from portal.core import lifecycle, users
from portal.core.models import Status, User, Webinar, WebinarSlot, WebinarSpeaker
from portal.core.permissions import SYSTEM
from portal.db_types import utcnow
from portal.extensions import db

PASSWORD = "correct horse battery"
_seq = itertools.count(1)

# The Core operations that lead from draft to each status.
PATH_TO = {
    Status.draft.value: [],
    Status.scheduled.value: ["publish"],
    Status.live.value: ["publish", "start"],
    Status.paused.value: ["publish", "start", "pause"],
    Status.finished.value: ["publish", "start", "stop"],
    Status.archived.value: ["publish", "start", "stop", "archive"],
}


@lru_cache(maxsize=8)
def _hash(password: str) -> str:
    """Hash each test password once: scrypt per user would dominate the suite's time."""
    return generate_password_hash(password)


def user(*, role: str = "organizer", email: str | None = None, password: str = PASSWORD,
         display_name: str | None = None, disabled: bool = False) -> User:
    n = next(_seq)
    u = users.create_user(email or f"{role}{n}@example.com", role=role, password=None,
                          display_name=display_name or f"{role.title()} {n}")
    u.password_hash = _hash(password)
    u.is_disabled = disabled
    db.session.commit()
    return u


def lead(*, email: str | None = None, name: str = "Lead") -> User:
    n = next(_seq)
    u = User(email=email or f"lead{n}@example.com", display_name=f"{name} {n}", role="lead")
    db.session.add(u)
    db.session.commit()
    return u


def webinar(*, owner: User | None = None, status: str = Status.draft.value, type: str = "live",
            speakers: tuple[User, ...] = (), slots: tuple[datetime, ...] = (), **fields: Any) -> Webinar:
    """A webinar brought to `status` through Core operations (actor SYSTEM)."""
    n = next(_seq)
    owner = owner or user(role="organizer")
    defaults: dict[str, Any] = {
        "title": f"Webinar {n}",
        "slug": f"webinar-{n}",
        "description": "About things.",
        "stream_type": "obs",
        "owner_user_id": owner.user_id,
        "cta_text": "Buy now",
        "cta_url": "https://example.com/buy",
    }
    if type == "live":
        defaults.update(scheduled_at=utcnow() + timedelta(hours=1), stream_url="https://cdn.example.com/live.m3u8")
    else:
        defaults.update(
            recording_url="/static/demo/auto.mp4",
            recording_duration_sec=90,
            auto_schedule={"watch_now": True, "kind": "every", "every_minutes": 15, "horizon": 4, "timezone": "UTC"},
            cta_at_sec=30,
        )
    defaults.update(fields)
    w = Webinar(type=type, **defaults)
    for starts_at in slots:
        w.slots.append(WebinarSlot(starts_at=starts_at))
    for sp in speakers:
        w.speakers.append(WebinarSpeaker(user_id=sp.user_id, display_name=sp.display_name))
    db.session.add(w)
    db.session.commit()
    bring_to(w, status)
    return w


def bring_to(w: Webinar, status: str) -> Webinar:
    for op in PATH_TO[status][len(PATH_TO.get(w.status, [])):]:
        if op in ("start", "stop"):
            lifecycle.core_webinar_set_status(w, op, actor=SYSTEM)
        else:
            getattr(lifecycle, op)(w, actor=SYSTEM)
    return w
