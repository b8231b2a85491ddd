"""Make writes to `webinar.status` and `webinar.cta_visibility` outside Core fail loudly.

Core's lifecycle module opens `core_write()` around its own writes; every other write — an
attribute set, an ORM bulk UPDATE or a raw SQL UPDATE through the session — raises
GuardedFieldWrite. New objects may only start from the defaults (draft, hidden).
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import ORMExecuteState, Session
from sqlalchemy.sql import TableClause, Update
from sqlalchemy.sql.elements import TextClause

from portal.core.models import CtaVisibility, Status, Webinar

# run_starts_at (which start time runs) is part of the status: written with it, by Core only.
GUARDED = {"status": Status.draft.value, "cta_visibility": CtaVisibility.hidden.value, "run_starts_at": None}
_RAW_UPDATE = re.compile(r"update\s+[\"`]?webinar[\"`]?\s+set\b.*\b(status|cta_visibility|run_starts_at)\b",
                         re.I | re.S)
_core_writing: ContextVar[bool] = ContextVar("core_writing", default=False)


class GuardedFieldWrite(RuntimeError):
    """Something other than portal.core.lifecycle tried to write status or CTA visibility."""


@contextmanager
def core_write() -> Iterator[None]:
    token = _core_writing.set(True)
    try:
        yield
    finally:
        _core_writing.reset(token)


def _refuse(field: str) -> None:
    raise GuardedFieldWrite(
        f"webinar.{field} is written only by portal.core.lifecycle "
        "(core_webinar_set_status / core_webinar_set_cta_visibility / Core operations)"
    )


def _on_set(target: Webinar, value: object, oldvalue: object, initiator: Any) -> None:
    field = initiator.key
    if _core_writing.get():
        return
    is_new = inspect(target).key is None  # not persisted yet: a new row
    if is_new and value == GUARDED[field]:
        return
    _refuse(field)


def _on_execute(state: ORMExecuteState) -> None:
    if _core_writing.get():
        return
    field = _statement_touches_guarded(state)
    if field:
        _refuse(field)


def _statement_touches_guarded(state: ORMExecuteState) -> str | None:
    stmt = state.statement
    table = stmt.table if isinstance(stmt, Update) else None
    if isinstance(table, TableClause) and table.name == Webinar.__tablename__:
        for column in getattr(stmt, "_values", None) or {}:
            name = getattr(column, "key", None) or getattr(column, "name", None) or str(column)
            if name in GUARDED:
                return name
    if isinstance(stmt, TextClause):
        match = _RAW_UPDATE.search(stmt.text)
        if match:
            return match.group(1)
    return None


def install() -> None:
    """Register the listeners (SQLAlchemy's are per process: a second call finds them there)."""
    for field in GUARDED:
        attribute = getattr(Webinar, field)
        if not event.contains(attribute, "set", _on_set):
            event.listen(attribute, "set", _on_set, propagate=True)
    if not event.contains(Session, "do_orm_execute", _on_execute):
        event.listen(Session, "do_orm_execute", _on_execute)
