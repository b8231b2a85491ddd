"""The AutoWebinar state of one lead in one webinar, kept in `user_meta` only (seed 004).

Keys are exactly the seed's, scoped per webinar by a ":<webinar_id>" suffix, e.g.
`autowebinar_last_position_sec:7`. Values are compact scalar strings:

| key                           | value                                            |
|-------------------------------|--------------------------------------------------|
| autowebinar_session_id        | UUID4, 36 chars                                  |
| autowebinar_started_at        | ISO-8601 UTC to the second, "2026-06-01T12:15:00Z" |
| autowebinar_last_position_sec | whole seconds, decimal ("42")                    |
| autowebinar_progress_percent  | "0", "25", "50", "75" or "100"                   |
| autowebinar_completed         | "1" once completed (absent or "0" = not yet)     |
| autowebinar_cta_clicked_at    | ISO-8601 UTC to the second (first click only)    |
| autowebinar_last_seen_at      | ISO-8601 UTC to the second                       |

No history is kept: every key holds its latest value. Every write is an
INSERT ... ON CONFLICT (user_id, meta_key) upsert, so concurrent tabs and processes never
collide on the unique constraint; the "only once" and "never backwards" rules are WHERE
clauses of those upserts, decided by the database. This module writes no other table and
never commits: the runtime owns the unit of work.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

from sqlalchemy import Integer, and_, cast, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from portal import timefmt
from portal.attendance.rules import PROGRESS_MILESTONES
from portal.core.models import UserMeta
from portal.extensions import db

PREFIX = "autowebinar_"
FIELDS = ("session_id", "started_at", "last_position_sec", "progress_percent", "completed",
          "cta_clicked_at", "last_seen_at")
Scalar = str | int | bool | datetime

_table = UserMeta.__table__


def meta_key(field: str, webinar_id: int) -> str:
    """The user_meta key of one field for one webinar: autowebinar_<field>:<webinar_id>."""
    if field not in FIELDS:
        raise KeyError(field)
    return f"{PREFIX}{field}:{int(webinar_id)}"


def encode(value: Scalar) -> str:
    """A scalar as its compact string (datetimes in UTC to the second, bools "1"/"0")."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime refused")
        return _utc_second(int(value.timestamp()))
    if isinstance(value, str):
        return value
    raise TypeError(f"not a scalar: {value!r}")


@lru_cache(maxsize=256)
def _utc_second(epoch: int) -> str:
    # A flush encodes thousands of times that fall within a second or two.
    return timefmt.iso_utc(datetime.fromtimestamp(epoch, UTC), seconds=True) or ""


def decode_time(raw: str | None) -> datetime | None:
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def decode_int(raw: str | None) -> int | None:
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None


@dataclass(frozen=True)
class AutoState:
    """The decoded state; missing keys are None (completed: False)."""

    session_id: str | None = None
    started_at: datetime | None = None
    last_position_sec: int | None = None
    progress_percent: int | None = None
    completed: bool = False
    cta_clicked_at: datetime | None = None
    last_seen_at: datetime | None = None

    @classmethod
    def from_raw(cls, raw: Mapping[str, str | None]) -> AutoState:
        return cls(
            session_id=raw.get("session_id") or None,
            started_at=decode_time(raw.get("started_at")),
            last_position_sec=decode_int(raw.get("last_position_sec")),
            progress_percent=decode_int(raw.get("progress_percent")),
            completed=raw.get("completed") in ("1", "true"),
            cta_clicked_at=decode_time(raw.get("cta_clicked_at")),
            last_seen_at=decode_time(raw.get("last_seen_at")),
        )


def _session(session: Session | None) -> Session:
    return session if session is not None else db.session()


def _insert(session: Session):  # noqa: ANN202 - the dialect's insert construct
    return pg_insert(_table) if session.get_bind().dialect.name == "postgresql" else sqlite_insert(_table)


def raw(lead_id: int, webinar_id: int, *, session: Session | None = None) -> dict[str, str | None]:
    """The stored strings of one lead's state in one webinar, by field name."""
    keys = {meta_key(f, webinar_id): f for f in FIELDS}
    rows = _session(session).execute(
        select(_table.c.meta_key, _table.c.meta_value).where(
            _table.c.user_id == lead_id, _table.c.meta_key.in_(list(keys))
        )
    )
    return {keys[k]: v for k, v in rows}


def load(lead_id: int, webinar_id: int, *, session: Session | None = None) -> AutoState:
    """The decoded state (one SELECT)."""
    return AutoState.from_raw(raw(lead_id, webinar_id, session=session))


def put(lead_id: int, webinar_id: int, values: Mapping[str, Scalar], *, session: Session | None = None) -> None:
    """Set fields (last write wins)."""
    put_many(((lead_id, webinar_id, f, v) for f, v in values.items()), session=session)


_UPSERT = ("INSERT INTO user_meta (user_id, meta_key, meta_value) VALUES ({p}, {p}, {p}) "
           "ON CONFLICT (user_id, meta_key) DO UPDATE SET meta_value = excluded.meta_value")


_MANY_ROWS = 2000  # rows per multi-row statement: 3 parameters each, under the drivers' limits
_UPSERT_VALUES = ("INSERT INTO user_meta (user_id, meta_key, meta_value) VALUES {values} "
                  "ON CONFLICT (user_id, meta_key) DO UPDATE SET meta_value = excluded.meta_value")


def put_many(rows: Iterable[tuple[int, int, str, Scalar]], *, session: Session | None = None) -> int:
    """Upsert many (lead_id, webinar_id, field, value) with one executemany; returns the count.

    The flusher's hot path (tens of thousands of rows a second): the statement goes to the
    driver as-is, skipping per-row statement compilation; it is the same portable upsert.
    """
    params = [(lead, meta_key(f, w), encode(v)) for lead, w, f, v in rows]
    if not params:
        return 0
    connection = _session(session).connection()
    if connection.dialect.name == "postgresql":
        # psycopg runs an executemany row by row on the server; multi-row VALUES is one
        # statement per _MANY_ROWS rows. Last write wins within the batch, as with executemany
        # (and PostgreSQL refuses to update one row twice in a statement).
        latest = list({(lead, key): (lead, key, value) for lead, key, value in params}.values())
        for at in range(0, len(latest), _MANY_ROWS):
            chunk = latest[at:at + _MANY_ROWS]
            values = ", ".join(["(%s, %s, %s)"] * len(chunk))
            connection.exec_driver_sql(_UPSERT_VALUES.format(values=values), tuple(v for row in chunk for v in row))
        return len(params)
    marker = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    connection.exec_driver_sql(_UPSERT.format(p=marker), params)
    return len(params)


def put_if_absent(lead_id: int, webinar_id: int, field: str, value: Scalar, *,
                  session: Session | None = None) -> str:
    """Insert a field unless it exists; return the value now stored (ours or the winner's)."""
    session = _session(session)
    key = meta_key(field, webinar_id)
    stmt = _insert(session).values(user_id=lead_id, meta_key=key, meta_value=encode(value))
    session.execute(stmt.on_conflict_do_nothing(index_elements=[_table.c.user_id, _table.c.meta_key]))
    return session.scalar(select(_table.c.meta_value).where(_table.c.user_id == lead_id, _table.c.meta_key == key))


def raise_progress(lead_id: int, webinar_id: int, percent: int, *, session: Session | None = None) -> bool:
    """Store a milestone unless an equal or higher one is stored; True when it was raised."""
    if percent not in PROGRESS_MILESTONES:
        raise ValueError(f"not a milestone: {percent}")
    session = _session(session)
    stmt = _insert(session).values(user_id=lead_id, meta_key=meta_key("progress_percent", webinar_id),
                                   meta_value=encode(percent))
    stmt = stmt.on_conflict_do_update(
        index_elements=[_table.c.user_id, _table.c.meta_key],
        set_={"meta_value": stmt.excluded.meta_value},
        # Never backwards: the database compares, so racing writers cannot lower it.
        where=cast(_table.c.meta_value, Integer) < cast(stmt.excluded.meta_value, Integer),
    ).returning(_table.c.umeta_id)
    return session.execute(stmt).first() is not None


_RAISE_ROWS = _MANY_ROWS
_RAISE = ("INSERT INTO user_meta (user_id, meta_key, meta_value) VALUES {values} "
          "ON CONFLICT (user_id, meta_key) DO UPDATE SET meta_value = excluded.meta_value "
          "WHERE CAST(user_meta.meta_value AS INTEGER) < CAST(excluded.meta_value AS INTEGER)")


def raise_progress_many(rows: Iterable[tuple[int, int, int]], *, session: Session | None = None) -> int:
    """`raise_progress` for many (lead_id, webinar_id, percent) in one multi-row upsert per
    _RAISE_ROWS rows (the flusher's milestones: a whole room may cross one at once); returns
    how many rows were sent. The same never-backwards WHERE, decided by the database; a lead
    listed twice for one webinar keeps its highest (PostgreSQL refuses to update a row twice
    in one statement)."""
    best: dict[tuple[int, str], int] = {}
    for lead, webinar, percent in rows:
        if percent not in PROGRESS_MILESTONES:
            raise ValueError(f"not a milestone: {percent}")
        key = (int(lead), meta_key("progress_percent", webinar))
        best[key] = max(best.get(key, percent), percent)
    if not best:
        return 0
    connection = _session(session).connection()
    marker = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    items = list(best.items())
    for at in range(0, len(items), _RAISE_ROWS):
        chunk = items[at:at + _RAISE_ROWS]
        values = ", ".join([f"({marker}, {marker}, {marker})"] * len(chunk))
        params = tuple(v for (lead, key), percent in chunk for v in (lead, key, encode(percent)))
        connection.exec_driver_sql(_RAISE.format(values=values), params)
    return len(items)


def set_once(lead_id: int, webinar_id: int, field: str, value: Scalar, *, unless: str | None = None,
             session: Session | None = None) -> bool:
    """Set a field only if it is absent (or, with `unless`, holds anything but that value);
    True when this call set it — the "first time only" rule for completion and CTA clicks."""
    session = _session(session)
    encoded = encode(value)
    stmt = _insert(session).values(user_id=lead_id, meta_key=meta_key(field, webinar_id), meta_value=encoded)
    if unless is None:
        stmt = stmt.on_conflict_do_nothing(index_elements=[_table.c.user_id, _table.c.meta_key])
    else:
        stmt = stmt.on_conflict_do_update(
            index_elements=[_table.c.user_id, _table.c.meta_key],
            set_={"meta_value": stmt.excluded.meta_value},
            where=and_(_table.c.meta_value.is_distinct_from(unless)),
        )
    return session.execute(stmt.returning(_table.c.umeta_id)).first() is not None
