"""Where attendance facts live, read-only: the attendance ledger (room), the event outbox
(Core) and AutoWebinar's user_meta keys `autowebinar_*:<webinar_id>`."""
from __future__ import annotations

from datetime import datetime

from portal.attendance.rules import PROGRESS_MILESTONES as PROGRESS_STEPS  # noqa: F401 - one constant
from portal.core.models import Webinar

COMPLETED_EVENT = "client_webinar_completed"
CTA_EVENT = "client_webinar_cta_clicked"
META_COMPLETED = "autowebinar_completed"
META_CTA = "autowebinar_cta_clicked_at"
META_PROGRESS = "autowebinar_progress_percent"
TRUE_VALUES = ("1", "true", "True", "TRUE", "yes")


def meta_key(name: str, webinar_id: int) -> str:
    """AutoWebinar keys are scoped to a webinar by a suffix (SPEC §5)."""
    return f"{name}:{webinar_id}"


def is_true(value: str | None) -> bool:
    return (value or "").strip() in TRUE_VALUES


class Clock:
    """Closes open attendance intervals, in POSIX seconds: when the webinar finished, else now
    (they are still in the room)."""

    def __init__(self, webinar: Webinar, *, now: datetime) -> None:
        self.finished = webinar.finished_at.timestamp() if webinar.finished_at is not None else None
        self.now = now.timestamp()

    def end(self, entered: float, left: float | None) -> float:
        if left is not None:
            return left
        if self.finished is not None and self.finished >= entered:
            return self.finished
        return max(self.now, entered)
