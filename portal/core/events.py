"""Domain events: the SPEC §6 envelope, the transactional outbox and in-process signals.

`emit()` adds an outbox row to the current transaction, so a change and its event commit or
roll back together (the row is written, numbered, just before the COMMIT: see
portal.core.sequencing). After the commit, each envelope is announced on
`portal.signals.event_committed` (see that catalogue for the receivers' arguments).
"""
from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Any

from portal.core import sequencing
from portal.core.models import envelope_of
from portal.db_types import utcnow
from portal.extensions import db
from portal.signals import after_commit, event_committed, event_emitted, send

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

__all__ = ["EVENTS", "emit", "event_committed"]


def emit(
    name: str,
    *,
    webinar_id: int,
    lead_id: int | None = None,
    session_id: str | None = None,
    data: dict[str, Any] | None = None,
    occurred_at: datetime | None = None,
    private: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Write one event to the outbox in the current transaction; return its envelope.

    In-transaction receivers of `portal.signals.event_emitted` hear it at once, with `private`
    (facts for them only, never written to the outbox)."""
    if name not in EVENTS:
        raise ValueError(f"unknown event {name!r}")
    values: dict[str, Any] = {"event_id": str(uuid.uuid4()), "event": name, "occurred_at": occurred_at or utcnow(),
                              "webinar_id": webinar_id, "lead_id": lead_id, "session_id": session_id,
                              "data": data or {}}
    envelope = envelope_of(sequence=None, **values)
    # Opens the session's transaction when nothing has yet: emit writes nothing until the
    # commit, and a rollback before it must drop this event like any other write.
    after_commit(event_committed, envelope)
    session = db.session()
    # Written with its `sequence` at commit, in one statement with the transaction's other
    # events (a go-live's thousands of "entered" rows make one executemany, not thousands).
    sequencing.write_at_commit(session, values)
    if event_emitted.receivers:
        send(event_emitted, envelope, private=private or {})
    # DEBUG: the outbox row is the record (the API's event feed, webhooks); at INFO the action
    # that raised it logs its own line (a registration, a status change), once.
    log.debug("event %s webinar=%s lead=%s", name, webinar_id, lead_id)
    return envelope
