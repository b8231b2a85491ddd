"""Where attendance facts live, read-only: the attendance ledger (room), the event outbox
(Core) and AutoWebinar's user_meta keys `autowebinar_*:<webinar_id>`."""
from __future__ import annotations

from datetime import datetime

from portal.core.models import Webinar

COMPLETED_EVENT = "client_webinar_completed"
CTA_EVENT = "client_webinar_cta_clicked"
META_COMPLETED = "autowebinar_completed"
META_CTA = "autowebinar_cta_clicked_at"
META_PROGRESS = "autowebinar_progress_percent"
TRUE_VALUES = ("1", "true", "True", "TRUE", "yes")
PROGRESS_STEPS = (0, 25, 50, 75, 100)


def meta_key(name: str, webinar_id: int) -> str:
    """AutoWebinar keys are scoped to a webinar by a suffix (SPEC §5)."""
    return f"{name}:{webinar_id}"


def is_true(value: str | None) -> bool:
    return (value or "").strip() in TRUE_VALUES


def interval_end(webinar: Webinar, entered_at: datetime, left_at: datetime | None, *, now: datetime) -> datetime:
    """Where an attendance interval ends: when they left, else when the webinar finished,
    else now (they are still in the room)."""
    if left_at is not None:
        return left_at
    if webinar.finished_at is not None and webinar.finished_at >= entered_at:
        return webinar.finished_at
    return max(now, entered_at)
