"""Domain events: the SPEC §6 envelope, the transactional outbox and in-process signals.

`emit()` adds an outbox row to the current transaction, so a change and its event commit or
roll back together. After the commit, each envelope is announced on blinker signals
(`event_committed` for all, and one signal per event name).
"""
from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Any

from blinker import Namespace
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from portal.core.models import OutboxEvent
from portal.db_types import utcnow
from portal.extensions import db

log = logging.getLogger(__name__)

EVENTS = frozenset(
    {
        "client_webinar_registered",
        "client_webinar_entered",
        "client_webinar_left",
        "client_webinar_completed",
        "client_webinar_cta_clicked",
        "webinar_status_changed",
        "webinar_cta_visibility_changed",
        "webinar_completed",
    }
)

signals = Namespace()
event_committed = signals.signal("portal.event")
_PENDING = "portal_pending_events"


def emit(
    name: str,
    *,
    webinar_id: int,
    lead_id: int | None = None,
    session_id: str | None = None,
    data: dict[str, Any] | None = None,
    occurred_at: datetime | None = None,
) -> dict[str, Any]:
    """Write one event to the outbox in the current transaction; return its envelope."""
    if name not in EVENTS:
        raise ValueError(f"unknown event {name!r}")
    row = OutboxEvent(
        event_id=str(uuid.uuid4()),
        event=name,
        occurred_at=occurred_at or utcnow(),
        webinar_id=webinar_id,
        lead_id=lead_id,
        session_id=session_id,
        data=data or {},
    )
    db.session.add(row)
    envelope = row.envelope()
    db.session().info.setdefault(_PENDING, []).append(envelope)
    log.info("event %s webinar=%s lead=%s", name, webinar_id, lead_id)
    return envelope


def _announce(session: Session) -> None:
    pending = session.info.pop(_PENDING, [])
    for envelope in pending:
        for signal in (event_committed, signals.signal(envelope["event"])):
            try:
                signal.send(envelope)
            except Exception:  # a subscriber must never undo a committed change
                log.exception("subscriber failed for %s %s", envelope["event"], envelope["event_id"])


def _discard(session: Session) -> None:
    session.info.pop(_PENDING, None)


def install() -> None:
    if getattr(install, "done", False):
        return
    sa_event.listen(Session, "after_commit", _announce)
    sa_event.listen(Session, "after_rollback", _discard)
    install.done = True  # type: ignore[attr-defined]
