"""Queueing mail: one ledger row per (registration, kind, occurrence), in the caller's transaction."""
from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from flask import current_app, has_request_context, request
from sqlalchemy import insert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from portal.db_types import utcnow
from portal.extensions import db
from portal.mail import kinds
from portal.mail.models import QUEUED, MailMessage
from portal.registration.models import Registration

log = logging.getLogger(__name__)

_KEY = ["registration_id", "kind", "occurrence"]


def base_url() -> str:
    """The origin for links in mails, captured when the mail is queued: PORTAL_BASE_URL, else
    the request's, else http://localhost."""
    configured = current_app.config.get("BASE_URL")
    if configured:
        return str(configured).rstrip("/")
    if has_request_context():
        return request.host_url.rstrip("/")
    return "http://localhost"


def queue(reg: Registration, kind: str, *, occurrence: str, due_at: datetime | None = None,
          context: dict[str, Any] | None = None) -> bool:
    """Add `kind` for `reg` to the current transaction (not committed here): True if written,
    False if (registration, kind, occurrence) was already queued — exactly once per key.

    `due_at` (aware UTC, default now): not sent before. `context` (JSON-able) reaches the
    templates; `join_token` there puts the personal link in the mail."""
    lead = reg.lead
    return queue_row(registration_id=reg.registration_id, webinar_id=reg.webinar_id, recipient=lead.email,
                     recipient_name=lead.display_name or "", language=reg.language, kind=kind,
                     occurrence=occurrence, due_at=due_at, context=context)


def queue_row(*, registration_id: int, webinar_id: int, recipient: str, recipient_name: str,
              language: str | None, kind: str, occurrence: str, due_at: datetime | None = None,
              context: dict[str, Any] | None = None) -> bool:
    """queue() without a loaded Registration (the registration hot path knows the values)."""
    kinds.get(kind)
    occurrence = str(occurrence)
    if not occurrence or len(occurrence) > 64:
        raise ValueError("occurrence must be 1..64 characters")
    now = utcnow()
    languages = current_app.config.get("LANGUAGES") or ["en"]
    values = {
        "registration_id": registration_id, "webinar_id": webinar_id, "kind": kind, "occurrence": occurrence,
        "recipient": recipient, "recipient_name": (recipient_name or "")[:200],
        "language": language if language in languages else current_app.config.get("BABEL_DEFAULT_LOCALE", "en"),
        "context": {"base_url": base_url(), **(context or {})}, "subject": "", "status": QUEUED, "attempts": 0,
        "next_attempt_at": due_at or now, "last_answer": "", "created_at": now,
    }
    dialect = db.session.get_bind().dialect.name
    table = MailMessage.__table__
    if dialect == "postgresql":
        stmt = pg_insert(table).values(values).on_conflict_do_nothing(index_elements=_KEY)
    elif dialect == "sqlite":
        stmt = sqlite_insert(table).values(values).on_conflict_do_nothing(index_elements=_KEY)
    else:  # pragma: no cover - the portal runs on SQLite and PostgreSQL
        stmt = insert(table).values(values)
    written = bool(db.session.execute(stmt).rowcount)
    log.info("mail %s/%s for registration %s: %s", kind, occurrence, registration_id,
             "queued" if written else "already queued")
    return written
