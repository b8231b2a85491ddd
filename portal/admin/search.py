"""Case-insensitive "contains" search that also folds Cyrillic on SQLite.

SQLite's lower() and LIKE fold ASCII only, so a search for "иван" would miss "Иван". We
register a small SQL function on SQLite connections; PostgreSQL's lower() already folds
every script.
"""
from __future__ import annotations

from sqlalchemy import event, func
from sqlalchemy.engine import Engine
from sqlalchemy.sql.elements import ColumnElement

FOLD = "portal_casefold"
MAX_QUERY = 100


def _casefold(value: object) -> str | None:
    return None if value is None else str(value).casefold()


@event.listens_for(Engine, "connect")
def _register_sqlite_fold(dbapi_connection, connection_record) -> None:  # noqa: ANN001
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        dbapi_connection.create_function(FOLD, 1, _casefold, deterministic=True)


def normalise(query: str | None) -> str:
    """The search text as typed, trimmed and bounded."""
    return " ".join((query or "").split())[:MAX_QUERY]


def escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def contains(column: ColumnElement, needle: str, *, dialect: str) -> ColumnElement[bool]:
    """`column` contains `needle`, ignoring case in every script."""
    if dialect == "sqlite":
        if needle.isascii():  # SQLite's own LIKE folds ASCII: no Python call per row
            return column.like("%" + escape_like(needle) + "%", escape="\\")
        return func.portal_casefold(column).like("%" + escape_like(needle.casefold()) + "%", escape="\\")
    return func.lower(column).like("%" + escape_like(needle.lower()) + "%", escape="\\")


def contains_lowercase(column: ColumnElement, needle: str) -> ColumnElement[bool]:
    """`column` (stored lowercase, like emails) contains `needle`: a plain LIKE, no fold."""
    return column.like("%" + escape_like(needle.lower()) + "%", escape="\\")


def person_matches(name: ColumnElement, email: ColumnElement, needle: str, *, dialect: str) -> ColumnElement[bool]:
    """A person whose name or (lowercase) email contains `needle`."""
    return contains(name, needle, dialect=dialect) | contains_lowercase(email, needle)
