"""Queueing mail: one ledger row per (registration, kind, occurrence), in the caller's transaction."""
from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from flask import current_app, has_request_context, request
from sqlalchemy import Connection, insert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from portal.db_types import utcnow
from portal.extensions import db
from portal.mail import kinds, sealed
from portal.mail.models import QUEUED, MailMessage
from portal.registration.models import Registration

log = logging.getLogger(__name__)

_KEY = ["registration_id", "kind", "occurrence"]
#: Where a row's context keeps its sealed join token.
TOKEN_KEY = "join_token_sealed"


def base_url() -> str:
    """The origin for links in mails, captured when the mail is queued (a background job gets
    it from the request that started it): PORTAL_BASE_URL; outside production without it, the
    request's origin (`make run`), else http://localhost. Production mails never take the
    Host header a client sent (a forged Host would put its origin in someone's join link)."""
    configured = current_app.config.get("BASE_URL")
    if configured:
        return str(configured).rstrip("/")
    if has_request_context() and current_app.config.get("ENV") != "production":
        return request.host_url.rstrip("/")
    if current_app.config.get("ENV") == "production":
        log.warning("PORTAL_BASE_URL is not set: links in mails point at http://localhost")
    return "http://localhost"


def queue(reg: Registration, kind: str, *, occurrence: str, due_at: datetime | None = None,
          context: dict[str, Any] | None = None, base: str | None = None) -> bool:
    """Add `kind` for `reg` to the current transaction (not committed here): True if written,
    False if (registration, kind, occurrence) was already queued — exactly once per key.

    `due_at` (aware UTC, default now): not sent before. `context` (JSON-able) reaches the
    templates; `join_token` there puts the personal link in the mail (stored sealed). `base`:
    the origin of its links (default base_url())."""
    lead = reg.lead
    return queue_row(registration_id=reg.registration_id, webinar_id=reg.webinar_id, recipient=lead.email,
                     recipient_name=lead.display_name or "", language=reg.language, kind=kind,
                     occurrence=occurrence, due_at=due_at, context=context, base=base)


def row_values(*, registration_id: int, webinar_id: int, recipient: str, recipient_name: str,
               language: str | None, kind: str, occurrence: str, due_at: datetime | None = None,
               context: dict[str, Any] | None = None, base: str | None = None,
               now: datetime | None = None) -> dict[str, Any]:
    """One ledger row's column values. A `join_token` in `context` is stored sealed
    (portal.mail.sealed): the ledger never keeps a working link in plaintext."""
    kinds.get(kind)
    occurrence = str(occurrence)
    if not occurrence or len(occurrence) > 64:
        raise ValueError("occurrence must be 1..64 characters")
    now = now or utcnow()
    config = current_app.config
    languages = config.get("LANGUAGES") or ["en"]
    stored: dict[str, Any] = {"base_url": base or base_url(), **(context or {})}
    token = stored.pop("join_token", None)
    if token:
        stored[TOKEN_KEY] = sealed.seal(str(token))
    return {
        "registration_id": registration_id, "webinar_id": webinar_id, "kind": kind, "occurrence": occurrence,
        "recipient": recipient, "recipient_name": (recipient_name or "")[:200],
        "language": language if language in languages else config.get("BABEL_DEFAULT_LOCALE", "en"),
        "context": stored, "subject": "", "status": QUEUED, "attempts": 0,
        "next_attempt_at": due_at or now, "last_answer": "", "created_at": now,
    }


def _insert(dialect: str) -> Any:
    """insert ... on conflict (registration, kind, occurrence) do nothing returning message_id."""
    table = MailMessage.__table__
    if dialect == "postgresql":
        stmt: Any = pg_insert(table).on_conflict_do_nothing(index_elements=_KEY)
    elif dialect == "sqlite":
        stmt = sqlite_insert(table).on_conflict_do_nothing(index_elements=_KEY)
    else:  # pragma: no cover - the portal runs on SQLite and PostgreSQL
        stmt = insert(table)
    return stmt.returning(table.c.message_id)


#: The insert, built once per dialect and given the rows as parameters: SQLAlchemy sends a
#: list of them as ONE multi-row INSERT ("insertmanyvalues", up to 1,000 rows a statement),
#: from its compiled cache. `.values(rows)` built the statement per call and could not be
#: cached (literal rows): compiled on every registration (issue 14).
_PREBUILT = {name: _insert(name) for name in ("postgresql", "sqlite")}


def insert_rows(rows: list[dict[str, Any]], connection: Connection | None = None) -> int:
    """Insert these ledger rows (row_values() dicts) with ONE statement per 1,000, skipping every (registration, kind,
    occurrence) already queued (insert ... on conflict do nothing, SQLite and PostgreSQL);
    returns how many were written. In the caller's transaction (the session's, or
    `connection`'s), not committed."""
    if not rows:
        return 0
    executor: Any = connection if connection is not None else db.session
    dialect = (connection.engine if connection is not None else db.session.get_bind()).dialect.name
    if dialect in _PREBUILT:  # RETURNING counts what was written (conflicts return nothing)
        return len(executor.execute(_PREBUILT[dialect], rows if len(rows) > 1 else rows[0]).all())
    table = MailMessage.__table__
    stmt: Any
    if dialect == "postgresql":
        stmt = pg_insert(table).values(rows).on_conflict_do_nothing(index_elements=_KEY)
    elif dialect == "sqlite":
        stmt = sqlite_insert(table).values(rows).on_conflict_do_nothing(index_elements=_KEY)
    else:  # pragma: no cover - the portal runs on SQLite and PostgreSQL
        stmt = insert(table).values(rows)
    # RETURNING counts what was written (psycopg reports no rowcount for a multi-row insert)
    return len(executor.execute(stmt.returning(table.c.message_id)).all())


def queue_row(**values: Any) -> bool:
    """queue() without a loaded Registration (the registration hot path knows the values);
    takes row_values()'s arguments. True if written, False if the key was already queued."""
    row = row_values(**values)
    written = bool(insert_rows([row]))
    log.info("mail %s/%s for registration %s: %s", row["kind"], row["occurrence"], row["registration_id"],
             "queued" if written else "already queued")
    return written
