"""Mail (issue 10): the ledger, the sender, the messages.

Sits above registration and attendance, below room/console/admin (tests/test_layers.py). It
hears other layers through portal/signals.py (`event_emitted`, in their transaction), so
Core and registration never import it. The API the other domains use is in /work/coord
MAIL_API.md and below: `queue()` (ledger.py), the kinds (kinds.py).
"""
from __future__ import annotations

import logging
from typing import Any

from flask import Flask

from portal import signals
from portal.mail import sealed
from portal.mail.kinds import KINDS, Kind
from portal.mail.ledger import TOKEN_KEY, base_url, insert_rows, queue, queue_row, row_values

log = logging.getLogger(__name__)

__all__ = ["KINDS", "Kind", "init_app", "queue", "queue_row", "shutdown"]


def _on_event(envelope: dict[str, Any], *, private: dict[str, Any], **_: Any) -> None:
    """In the emitting transaction: a registration queues its confirmation and its reminders
    in ONE insert, with the join token sealed once (the registration burst's hot path)."""
    if envelope.get("event") != "client_webinar_registered":
        return
    from portal.mail import reminders

    data = envelope.get("data") or {}
    token = private.get("join_token")
    sealed_token = sealed.seal(str(token)) if token else None
    base = base_url()
    rows = []
    if sealed_token and data.get("email"):
        rows.append(row_values(registration_id=int(data["registration_id"]), webinar_id=int(envelope["webinar_id"]),
                               recipient=str(data["email"]), recipient_name=str(data.get("name") or ""),
                               language=private.get("language"), kind="confirmation", occurrence="registered",
                               context={TOKEN_KEY: sealed_token}, base=base))
    rows += reminders.registered_rows(envelope, private, sealed_token=sealed_token, base=base)
    if rows:
        written = insert_rows(rows)
        # DEBUG: the ledger (/admin/mail) shows it; the registration logs its own INFO line.
        log.debug("mail %s for registration %s: %d of %d queued", ",".join(r["kind"] for r in rows),
                 data.get("registration_id"), written, len(rows))


def init_app(app: Flask) -> None:
    """Queue the confirmation with each registration; "Email me my link"; this app's sender."""
    signals.connect(app, signals.event_emitted, _on_event)
    from portal.mail import recovery, sender

    app.register_blueprint(recovery.bp)

    sender.init_app(app)
    from portal.mail import reminders

    reminders.init_app(app)  # reminders, live/reschedule/cancel/thank-you notices, unsubscribe


def shutdown(app: Flask) -> None:
    """Wait for the background jobs, then stop the sender; each closes its session (and so
    returns its database connection) before this returns."""
    from portal.mail import jobs, sender

    jobs.close(app)  # mails being queued in the background (no new ones), then the sender
    sender.shutdown(app)
