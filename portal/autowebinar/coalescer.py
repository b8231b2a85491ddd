"""In-process memory of heartbeats: the latest queued position per viewer (`Coalescer`) and the
connections this process has entered (`Connections`). No database, no Flask."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, replace
from datetime import datetime


@dataclass
class Pending:
    """The latest queued state of one viewer."""

    lead_id: int
    webinar_id: int
    registration_id: int
    session_id: str
    position: int
    seen_at: datetime
    milestone: int | None = None
    completes: bool = False

    def merged_into(self, newer: Pending) -> Pending:
        """`newer` with the milestone and completion this older entry still carried."""
        best = max((m for m in (self.milestone, newer.milestone) if m is not None), default=None)
        return replace(newer, milestone=best, completes=self.completes or newer.completes)


class Coalescer:
    """Latest position per (lead, webinar) of this process, swapped out by each flush."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[tuple[int, int], Pending] = {}

    def put(self, entry: Pending) -> None:
        key = (entry.lead_id, entry.webinar_id)
        with self._lock:
            older = self._entries.get(key)
            self._entries[key] = older.merged_into(entry) if older is not None else entry

    def drain(self) -> list[Pending]:
        with self._lock:
            entries, self._entries = self._entries, {}
        return list(entries.values())

    def take(self, lead_id: int, webinar_id: int) -> Pending | None:
        with self._lock:
            return self._entries.pop((lead_id, webinar_id), None)

    def requeue(self, entries: list[Pending]) -> None:
        """Put back a batch whose write failed, under anything newer queued meanwhile."""
        with self._lock:
            for entry in entries:
                key = (entry.lead_id, entry.webinar_id)
                newer = self._entries.get(key)
                self._entries[key] = entry.merged_into(newer) if newer is not None else entry

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)


@dataclass
class Connection:
    registration_id: int
    session_id: str
    http: bool
    last_beat: float


class Connections:
    """Connections this process has entered (attendance row open), by (lead, webinar, id)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._known: dict[tuple[int, int, str], Connection] = {}

    def beat(self, key: tuple[int, int, str]) -> bool:
        """Refresh a known connection; False when this process has not entered it."""
        with self._lock:
            found = self._known.get(key)
            if found is None:
                return False
            found.last_beat = time.monotonic()
            return True

    def add(self, key: tuple[int, int, str], conn: Connection) -> None:
        with self._lock:
            self._known[key] = conn

    def forget(self, key: tuple[int, int, str]) -> Connection | None:
        with self._lock:
            return self._known.pop(key, None)

    def stale(self, *, http_stale_after: float,
              socket_forget_after: float) -> list[tuple[tuple[int, int, str], Connection]]:
        """HTTP connections silent too long (removed here, closed by the flusher); silent
        socket connections are only forgotten (the socket's close ends their row)."""
        now = time.monotonic()
        out = []
        with self._lock:
            for key, conn in list(self._known.items()):
                idle = now - conn.last_beat
                if conn.http and idle > http_stale_after:
                    out.append((key, self._known.pop(key)))
                elif not conn.http and idle > socket_forget_after:
                    del self._known[key]
        return out

    def all(self) -> list[tuple[tuple[int, int, str], Connection]]:
        with self._lock:
            return list(self._known.items())

    def clear(self) -> None:
        with self._lock:
            self._known.clear()
