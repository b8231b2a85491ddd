"""What one process remembers so that a heartbeat needs no database round trip:
webinar facts (status, duration, CTA) with a short TTL, and each active viewer's session.

Facts are refreshed after FACTS_TTL seconds and dropped at once when this process commits a
status or CTA change (`on_event_committed`); other processes' changes are seen within the TTL,
and the flusher re-checks the status in its own transaction before writing anything.
Loads go through `fresh_session()` so no read transaction stays open. One ViewerCache per app
(portal.autowebinar.state), never a module global.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.autowebinar import store
from portal.core.models import Webinar
from portal.dbsession import fresh_session

FACTS_TTL = 2.0  # seconds
VIEWER_IDLE_EVICT = 600.0  # seconds without a heartbeat before a viewer is forgotten


@dataclass(frozen=True)
class Facts:
    """The webinar columns the runtime reads on every heartbeat."""

    webinar_id: int
    type: str
    status: str
    duration_sec: int
    cta_at_sec: int
    cta_visibility: str
    cta_ready: bool  # text and link configured
    finished_at: datetime | None
    loaded: float = 0.0

    @classmethod
    def of(cls, webinar: Webinar, *, loaded: float = 0.0) -> Facts:
        duration = webinar.recording_duration_sec or max(int(webinar.duration_minutes or 0) * 60, 1)
        return cls(
            webinar_id=webinar.webinar_id,
            type=webinar.type,
            status=webinar.status,
            duration_sec=int(duration),
            cta_at_sec=int(webinar.cta_at_sec or 0),
            cta_visibility=webinar.cta_visibility,
            cta_ready=bool(webinar.cta_url and webinar.cta_text),
            finished_at=webinar.finished_at,
            loaded=loaded,
        )


@dataclass
class Viewer:
    """One lead's auto session in one webinar, as this process last knew it."""

    lead_id: int
    webinar_id: int
    registration_id: int
    session_id: str
    started_at: datetime
    progress: int  # highest milestone stored or queued; -1 when none yet
    completed: bool
    position: int | None = None
    position_at: datetime | None = None  # when `position` was heard
    touched: float = field(default_factory=time.monotonic)


class ViewerCache:
    """One app's memory in this process: webinar facts and active viewers (thread-safe)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._facts: dict[int, Facts] = {}
        self._viewers: dict[tuple[int, int], Viewer] = {}

    def facts(self, webinar_id: int, *, fresh: bool = False) -> Facts | None:
        """The webinar's facts, from memory when younger than FACTS_TTL."""
        now = self.clock()
        with self._lock:
            known = self._facts.get(webinar_id)
        if known is not None and not fresh and now - known.loaded < FACTS_TTL:
            return known
        with fresh_session() as session:
            webinar = session.get(Webinar, webinar_id)
            loaded = Facts.of(webinar, loaded=now) if webinar is not None else None
        with self._lock:
            if loaded is None:
                self._facts.pop(webinar_id, None)
            else:
                self._facts[webinar_id] = loaded
        return loaded

    def remember_facts(self, webinar: Webinar) -> Facts:
        """Prime the cache from a webinar the caller already loaded."""
        loaded = Facts.of(webinar, loaded=self.clock())
        with self._lock:
            self._facts[webinar.webinar_id] = loaded
        return loaded

    def forget_facts(self, webinar_id: int) -> None:
        with self._lock:
            self._facts.pop(webinar_id, None)

    def viewer(self, lead_id: int, webinar_id: int) -> Viewer | None:
        with self._lock:
            found = self._viewers.get((lead_id, webinar_id))
            if found is not None:
                found.touched = self.clock()
            return found

    def load_viewer(self, lead_id: int, webinar_id: int, registration_id: int) -> Viewer | None:
        """The viewer from memory, else from user_meta (None when no session exists yet)."""
        found = self.viewer(lead_id, webinar_id)
        if found is not None:
            return found
        with fresh_session() as session:
            state = store.load(lead_id, webinar_id, session=session)
        if state.session_id is None or state.started_at is None:
            return None
        return self.remember_viewer(Viewer(
            lead_id=lead_id, webinar_id=webinar_id, registration_id=registration_id,
            session_id=state.session_id, started_at=state.started_at,
            progress=-1 if state.progress_percent is None else state.progress_percent,
            completed=state.completed, position=state.last_position_sec, position_at=state.last_seen_at,
        ))

    def remember_viewer(self, found: Viewer) -> Viewer:
        with self._lock:
            current = self._viewers.get((found.lead_id, found.webinar_id))
            if current is not None and current.session_id == found.session_id:
                # Keep what this process already learnt (progress queued but not yet flushed).
                current.progress = max(current.progress, found.progress)
                current.completed = current.completed or found.completed
                current.touched = self.clock()
                return current
            self._viewers[(found.lead_id, found.webinar_id)] = found
            return found

    def evict_idle(self, *, idle: float | None = None) -> int:
        """Forget viewers silent for `idle` seconds (bounded memory); returns how many."""
        limit = self.clock() - (VIEWER_IDLE_EVICT if idle is None else idle)
        with self._lock:
            stale = [key for key, v in self._viewers.items() if v.touched < limit]
            for key in stale:
                del self._viewers[key]
        return len(stale)

    def clear(self) -> None:
        """Forget everything (tests, and after a fork)."""
        with self._lock:
            self._facts.clear()
            self._viewers.clear()

    def active_webinar_ids(self) -> set[int]:
        with self._lock:
            return {w for _, w in self._viewers}

    def on_event_committed(self, envelope: dict, **_: object) -> None:
        """This process changed a webinar's status or CTA: drop the cached facts at once."""
        if envelope.get("event") in ("webinar_status_changed", "webinar_cta_visibility_changed"):
            self.forget_facts(int(envelope["webinar_id"]))

    def select_facts(self, session: Session, webinar_ids: set[int], *, lock: bool = False) -> dict[int, Facts]:
        """Facts of several webinars read inside the caller's transaction (the flusher's guard)."""
        if not webinar_ids:
            return {}
        stmt = (select(Webinar).where(Webinar.webinar_id.in_(sorted(webinar_ids)))
                .execution_options(populate_existing=True))
        if lock and session.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update(read=True)  # a concurrent stop waits for this flush
        now = self.clock()
        out = {w.webinar_id: Facts.of(w, loaded=now) for w in session.scalars(stmt)}
        with self._lock:
            self._facts.update(out)
        return out
