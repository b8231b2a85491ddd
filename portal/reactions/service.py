"""Reaction taps: the rules (who may tap what, how often) and this worker's tally.

Decision: taps are counted, not stored one by one. The room shows bursts (counts per second),
the console totals over time (per minute) and the report the totals: none needs who tapped
what when, and a storm of 1,000 taps a second would otherwise be 1,000 inserts a second.
So a tap that passes the rules only adds one to this worker's in-memory tally; the worker's
ticker (portal.reactions.push) writes the minute's counts once a second
(`webinar_reaction_count`) and pools them with the other workers' for the burst.
"""
from __future__ import annotations

import threading
from collections import Counter
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from portal.core import runs
from portal.core.models import Status
from portal.core.permissions import Action, can
from portal.errors import N_, Forbidden, Invalid
from portal.extensions import db
from portal.ratelimit import limiter
from portal.reactions.models import REACTIONS, ReactionCount
from portal.registration.models import Registration
from portal.room import cohorts
from portal.room.standing import Standing

#: Taps per attendee per window: a lively attendee taps a few times a second for a moment;
#: beyond that the taps are refused (quietly on the socket) and cost nothing more.
TAPS_PER_WINDOW = 10
WINDOW = 5  # seconds


class Tally:
    """This worker's taps not yet written: webinar id -> Counter(reaction -> taps)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[int, Counter[str]] = {}

    def add(self, webinar_id: int, reaction: str) -> None:
        with self._lock:
            self._counts.setdefault(webinar_id, Counter())[reaction] += 1

    def take(self) -> dict[int, Counter[str]]:
        """Everything tallied since the last take (and forget it)."""
        with self._lock:
            taken, self._counts = self._counts, {}
        return taken


def reaction_of(value: object) -> str:
    """A known reaction name, or Invalid."""
    if not isinstance(value, str) or value not in REACTIONS:
        raise Invalid("Unknown reaction.")
    return value


def tap(reg: Registration, value: object, *, tally: Tally) -> str:
    """One tap through the HTTP fallback, checked against the fresh registration."""
    webinar = reg.webinar
    return _tap(value, webinar_id=reg.webinar_id, lead_id=reg.lead_id,
                barred=webinar is None or not can(reg, Action.ENTER_ROOM, webinar),
                muted=reg.chat_muted_at is not None,
                live=webinar is not None and runs.status_for(webinar, cohorts.of(reg).starts_at) == Status.live.value,
                tally=tally)


def tap_in_room(standing: Standing | None, value: object, *, registration_id: int, webinar_id: int,
                lead_id: int, tally: Tally) -> str:
    """One tap over a room socket, checked against the room's cached standing (no query per tap)."""
    return _tap(value, webinar_id=webinar_id, lead_id=lead_id,
                barred=standing is None or registration_id in standing.barred,
                muted=standing is not None and registration_id in standing.muted,
                live=standing is not None and standing.status == Status.live.value, tally=tally)


def _tap(value: object, *, webinar_id: int, lead_id: int, barred: bool, muted: bool, live: bool,
         tally: Tally) -> str:
    """The rules, in order: a known reaction; access (not revoked, banned, cancelled); not
    muted; a live webinar; at most TAPS_PER_WINDOW taps per WINDOW. Then one more in the tally."""
    reaction = reaction_of(value)
    if barred:
        raise Forbidden("You can no longer take part in this webinar.")
    if muted:
        raise Forbidden("The host has turned off reactions for you.")
    if not live:
        raise Invalid("Reactions open when the webinar is live.")
    limiter().hit(f"react:{webinar_id}:{lead_id}", limit=TAPS_PER_WINDOW, window=WINDOW,
                  message=N_("Easy there! Wait a few seconds before reacting again."))
    tally.add(webinar_id, reaction)
    return reaction


def minute_of(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def record(counts: dict[int, Counter[str]], *, at: datetime) -> None:
    """Add a second's taps to their minute's rows (one upsert per webinar and reaction), committed."""
    rows = [{"webinar_id": webinar_id, "minute": minute_of(at), "reaction": reaction, "taps": n}
            for webinar_id, tapped in counts.items() for reaction, n in tapped.items() if n > 0]
    if not rows:
        return
    insert = pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = insert(ReactionCount).values(rows)
    stmt = stmt.on_conflict_do_update(
        index_elements=[ReactionCount.webinar_id, ReactionCount.minute, ReactionCount.reaction],
        set_={"taps": ReactionCount.taps + stmt.excluded.taps})
    db.session.execute(stmt)
    db.session.commit()


def totals(webinar_id: int) -> Counter[str]:
    """Every tap of a webinar so far, per reaction (the report's numbers)."""
    out: Counter[str] = Counter()
    for reaction, taps in db.session.execute(
            select(ReactionCount.reaction, db.func.sum(ReactionCount.taps))
            .where(ReactionCount.webinar_id == webinar_id).group_by(ReactionCount.reaction)):
        out[reaction] = int(taps or 0)
    return out


def per_minute(webinar_id: int, *, last: int = 10) -> list[tuple[datetime, Counter[str]]]:
    """The last `last` minutes that had taps, oldest first: (minute, taps per reaction)."""
    minutes = list(db.session.scalars(
        select(ReactionCount.minute).where(ReactionCount.webinar_id == webinar_id)
        .group_by(ReactionCount.minute).order_by(ReactionCount.minute.desc()).limit(last)))
    if not minutes:
        return []
    by_minute: dict[datetime, Counter[str]] = {m: Counter() for m in minutes}
    for minute, reaction, taps in db.session.execute(
            select(ReactionCount.minute, ReactionCount.reaction, ReactionCount.taps)
            .where(ReactionCount.webinar_id == webinar_id, ReactionCount.minute.in_(minutes))):
        by_minute.setdefault(minute, Counter())[reaction] += taps
    return sorted(by_minute.items())

